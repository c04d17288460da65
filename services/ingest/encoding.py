"""Bytes -> text with the encoding detected, not assumed (pure).

Order of evidence, strongest first: a byte-order mark; UTF-16 without BOM (NULs in every other byte);
strict UTF-8; for HTML the declared charset (``<meta charset>``, ``http-equiv``, ``<?xml encoding>``) when
the bytes decode under it; charset-normalizer's best guess (among equally plausible encodings the
web's common ones win: cp1252 first, since unlabeled Western text mostly is); cp1252 as a last resort.
Whatever is chosen, a text with many control characters or replacement characters is binary junk.
JSON is not guessed: it is UTF-8 or it is ``invalid-encoding`` (``decode_json_bytes``).
"""

from __future__ import annotations

import codecs
import re
import zlib

from charset_normalizer import from_bytes

from services.common.records import Rejected

GZIP_MAGIC = b"\x1f\x8b"
_SNIFF = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]{2,40})""", re.IGNORECASE)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_\-.]{2,40})["']""", re.IGNORECASE
)
# WHATWG: these labels mean windows-1252 on the web (browsers never decode them as strict latin-1).
_WEB_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "x-sjis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}
# Tie-break order among equally plausible guesses: by how common each is on the web.
_PREFERRED = (
    "cp1252",
    "cp1250",
    "cp1251",
    "gb18030",
    "cp932",
    "shift_jis",
    "euc_kr",
    "cp949",
    "big5",
    "euc_jp",
    "koi8_r",
    "cp1253",
    "cp1254",
    "cp1256",
    "cp1255",
    "iso8859_15",
)


class TooLarge(ValueError):
    """A compressed input inflates past the allowed size (a zip bomb or a dump, not an article)."""


def gunzip(data: bytes, limit: int) -> bytes:
    """Inflate gzip ``data`` (possibly several members), refusing to produce more than ``limit`` bytes.

    Raises ``TooLarge`` past the limit and ``ValueError`` on corrupt data: callers turn both into Rejected.
    """
    out = bytearray()
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            raise ValueError(f"corrupt gzip data: {exc}") from exc
        if len(out) > limit:
            raise TooLarge(f"gzip inflates past {limit} bytes")
        if not d.eof:
            if d.unconsumed_tail:
                raise TooLarge(f"gzip inflates past {limit} bytes")
            raise ValueError("truncated gzip data")
        data = d.unused_data.lstrip(b"\x00")
        if data and not data.startswith(GZIP_MAGIC):
            break  # trailing garbage after the last member: what gzip(1) ignores too
    return bytes(out)


def is_gzip(data: bytes) -> bool:
    return data[:2] == GZIP_MAGIC


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML/XML document declares in its first 4 KB, as a Python codec name, if known."""
    head = data[:_SNIFF]
    m = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not m:
        return None
    label = m.group(1).decode("ascii", "ignore").strip().lower()
    label = _WEB_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _utf16_without_bom(data: bytes) -> str | None:
    """Mostly-ASCII UTF-16 without a BOM shows NULs at every other position; decode it when it does."""
    sample = data[:_SNIFF]
    if len(sample) < 8 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    for zeros, codec in ((odd, "utf-16-le"), (even, "utf-16-be")):
        if zeros.count(0) >= 0.6 * len(zeros):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    return None


# What text does not contain: replacement characters (undecodable bytes) and control characters other than
# \t \n \f \r. One regex scan instead of a Python loop over every character (ingest's largest cost after
# language detection).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


def _looks_binary(text: str) -> bool:
    return len(_NOT_TEXT.findall(text)) > max(3, len(text) // 100)


def _guess(data: bytes) -> str | None:
    matches = list(from_bytes(data[: 256 * 1024]))
    plausible = [m for m in matches if not m.encoding.startswith(("utf_16", "utf_32"))]
    if not plausible:
        return None
    best = plausible[0]
    # Short inputs leave many code pages equally plausible; then the web's common ones win over exotic ones.
    ties = {
        m.encoding for m in plausible if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.05
    }
    for codec in _PREFERRED:
        if codec in ties:
            return codec
    return best.encoding


def decode_bytes(data: bytes, html: bool = False) -> str | Rejected:
    """Text of ``data`` in whatever encoding it is in, or Rejected ('empty-input' / 'binary-input')."""
    if not data.strip():
        return Rejected(reason="empty-input", detail="the input has no content")
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                break
            if not text.replace("\ufeff", "").strip():
                return Rejected(reason="empty-input", detail="the input has no content")
            return text if not _looks_binary(text[: _SNIFF * 4]) else _binary()
    if b"\x00" in data[:_SNIFF]:
        text16 = _utf16_without_bom(data)
        if text16 is not None and not _looks_binary(text16[: _SNIFF * 4]):
            return text16
        return Rejected(reason="binary-input", detail="NUL bytes: this is not text")
    # Valid UTF-8 with non-ASCII bytes is UTF-8 whatever a page declares: legacy text almost never decodes
    # as UTF-8 by chance, while pages that declare windows-1252 but are UTF-8 are common.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return _binary() if _looks_binary(text[: 64 * 1024]) else text
    if html:
        declared = declared_charset(data)
        if declared and not declared.startswith(("utf-16", "utf-32", "utf-8")):
            try:
                return data.decode(declared)
            except UnicodeDecodeError:
                pass  # mislabeled: fall through to detection
    text = data.decode(_guess(data) or "cp1252", errors="replace")
    if _looks_binary(text[: 64 * 1024]):
        return _binary()
    return text


def decode_json_bytes(data: bytes) -> str | Rejected:
    """Text of a JSON input: JSON is UTF-8 (RFC 8259; UTF-16/32 with a BOM or NUL pattern are taken too).

    Bytes that are not valid UTF-8 are ``invalid-encoding`` (with the offset of the first bad byte) rather
    than guessed: a guess would store a publisher's text garbled, silently.
    """
    if (
        data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        or b"\x00" in data[:_SNIFF]
    ):
        return decode_bytes(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 4].hex(" ")
        return Rejected(
            reason="invalid-encoding",
            detail=f"JSON must be UTF-8: invalid byte(s) {bad} at offset {exc.start} ({exc.reason})",
        )
    return decode_bytes(data)


def _binary() -> Rejected:
    return Rejected(reason="binary-input", detail="bytes do not decode as text in any supported encoding")
