"""Encodings are detected, not assumed; junk is told apart from text; gzip is inflated within a cap."""

from __future__ import annotations

import gzip

import pytest

from services.common.records import Rejected
from services.ingest.encoding import TooLarge, declared_charset, decode_bytes, gunzip

TEXT = "Le maire a inauguré le café « Chez Zoé » près de la gare ; l'été sera chaud, a-t-il déclaré."


@pytest.mark.parametrize(
    "codec", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"]
)
def test_western_text_decodes_from_any_common_encoding(codec: str) -> None:
    assert decode_bytes(TEXT.encode(codec)) == TEXT


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        ("shift_jis", "shift_jis"),
        ("euc-jp", "euc_jp"),
        ("windows-1251", "cp1251"),
        ("iso-8859-1", "cp1252"),
        ("gb2312", "gb18030"),
    ],
)
def test_html_is_decoded_with_the_charset_it_declares(declared: str, codec: str) -> None:
    text = '<html><head><meta charset="%s"></head><body>%s</body></html>'
    body = {"shift_jis": "東京", "euc_jp": "日本語", "cp1251": "Москва", "cp1252": "Zoé", "gb18030": "北京"}[
        codec
    ]
    data = (text % (declared, body)).encode(codec)
    got = decode_bytes(data, html=True)
    assert isinstance(got, str) and body in got


def test_valid_utf8_wins_over_a_wrong_declaration() -> None:
    data = '<html><head><meta charset="windows-1252"></head><body>Zoé – “quoted”</body></html>'.encode()
    got = decode_bytes(data, html=True)
    assert isinstance(got, str) and "Zoé – “quoted”" in got


@pytest.mark.parametrize(
    ("head", "codec"),
    [
        (b'<meta charset="utf-8">', "utf-8"),
        (b"<meta http-equiv='Content-Type' content='text/html; charset=ISO-8859-1'>", "cp1252"),
        (b'<?xml version="1.0" encoding="Shift_JIS"?>', "shift_jis"),
        (b'<meta charset="no-such-charset">', None),
        (b"<p>nothing declared</p>", None),
    ],
)
def test_the_declared_charset_is_read_from_the_first_bytes(head: bytes, codec: str | None) -> None:
    assert declared_charset(head) == codec


@pytest.mark.parametrize(
    ("why", "data", "reason"),
    [
        ("nothing", b"", "empty-input"),
        ("only whitespace", b" \r\n\t", "empty-input"),
        ("a BOM and nothing", "\ufeff".encode("utf-16"), "empty-input"),
        ("NUL-laced binary", bytes(range(256)) * 4, "binary-input"),
        ("control-character junk", bytes(range(1, 9)) * 500, "binary-input"),
        ("a PNG header", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary-input"),
    ],
)
def test_what_is_not_text_is_rejected(why: str, data: bytes, reason: str) -> None:
    got = decode_bytes(data)
    assert isinstance(got, Rejected) and got.reason == reason


def test_gunzip_inflates_concatenated_members() -> None:
    assert gunzip(gzip.compress(b"one ") + gzip.compress(b"two"), 100) == b"one two"


def test_gunzip_stops_at_the_cap() -> None:
    with pytest.raises(TooLarge):
        gunzip(gzip.compress(b"x" * 10_000), 1000)


@pytest.mark.parametrize("data", [gzip.compress(b"hello world")[:12], b"\x1f\x8b" + b"garbage" * 10])
def test_gunzip_refuses_corrupt_data(data: bytes) -> None:
    with pytest.raises(ValueError):
        gunzip(data, 1000)
