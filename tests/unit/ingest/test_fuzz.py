"""Fuzzing the parsers: whatever the bytes, parse_bytes answers with values and never raises."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.records import Article, Rejected
from services.common.settings.ingest import IngestSettings
from services.ingest.encoding import decode_bytes
from services.ingest.logic import parse_bytes
from services.ingest.urls import canonical_url

CFG = IngestSettings(max_article_bytes=64 * 1024, max_html_bytes=64 * 1024)
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOURCES = st.sampled_from(
    ["a.txt", "a.json", "a.jsonl", "a.html", "a.html.gz", "push", "https://example.com/x"]
)
KINDS = st.sampled_from(["auto", "txt", "json", "jsonl", "html"])

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(
        [
            "",
            "0000-01-01",
            "9999-12-31",
            "2024-02-30",
            "2024-01-01T00:00:00+14:00",
            "0001-01-01T00:00:00+05:00",
            "https://www.example.com/a?utm_source=x",
            "javascript:x",
            "\x00\x07",
            "T" * 2000,
        ]
    ),
)
records = st.fixed_dictionaries(
    {},
    optional={
        "title": field_values,
        "body": field_values | st.text(min_size=1, max_size=300),
        "url": field_values,
        "canonical_url": field_values,
        "published_at": field_values,
        "source": field_values,
        "author": field_values,
        "language": field_values,
    },
)
html_docs = st.builds(
    lambda title, paras, junk: (
        f"<html><head><title>{title}</title><link rel=canonical href='{junk}'></head><body><article>"
        + "".join(f"<p>{p}</p>" for p in paras)
        + f"</article>{junk}</body></html>"
    ),
    st.text(max_size=40),
    st.lists(st.text(max_size=200), max_size=6),
    st.text(max_size=40),
)


def check(results: list[Article | Rejected]) -> None:
    assert results, "parse_bytes must answer something"
    for r in results:
        assert isinstance(r, Article | Rejected)
        if isinstance(r, Rejected):
            assert r.reason and r.trace is not None
        else:
            assert r.body and r.id
            r.to_json()  # what goes on the wire must serialize


@FUZZ
@given(data=st.binary(max_size=4096), source=SOURCES, kind=KINDS)
def test_arbitrary_bytes_never_raise(data: bytes, source: str, kind: str) -> None:
    check(parse_bytes(data, source, "fuzz", NOW, CFG, kind=kind))


@FUZZ
@given(record=records)
def test_arbitrary_json_records_never_raise(record: dict[str, Any]) -> None:
    data = json.dumps(record, default=str).encode()
    check(parse_bytes(data, "a.json", "fuzz", NOW, CFG))
    check(parse_bytes(b"[" + data + b"," + data + b"]", "a.json", "fuzz", NOW, CFG))


@FUZZ
@given(value=json_values)
def test_arbitrary_json_documents_never_raise(value: Any) -> None:
    check(parse_bytes(json.dumps(value).encode(), "a.json", "fuzz", NOW, CFG))


@FUZZ
@given(doc=html_docs, codec=st.sampled_from(["utf-8", "utf-16", "cp1252", "shift_jis"]), zipped=st.booleans())
def test_arbitrary_html_never_raises(doc: str, codec: str, zipped: bool) -> None:
    data = doc.encode(codec, errors="replace")
    check(parse_bytes(gzip.compress(data) if zipped else data, "page.html", "fuzz", NOW, CFG))


@FUZZ
@given(
    text=st.text(max_size=2000),
    codec=st.sampled_from(
        ["utf-8", "utf-16", "utf-16-le", "latin-1", "cp1252", "koi8-r", "shift_jis", "gb18030"]
    ),
)
def test_text_in_any_encoding_decodes_or_is_rejected(text: str, codec: str) -> None:
    got = decode_bytes(text.encode(codec, errors="replace"))
    assert isinstance(got, str | Rejected)


@FUZZ
@given(
    url=st.text(max_size=200)
    | st.builds(lambda a, b: f"https://{a}/{b}", st.text(max_size=30), st.text(max_size=60))
)
def test_canonical_url_never_raises_and_is_stable(url: str) -> None:
    canon = canonical_url(url)
    if canon is not None:
        assert canon.startswith(("http://", "https://"))
        assert canonical_url(canon) == canon  # canonicalizing twice changes nothing


def test_deeply_nested_json_inside_jsonl_lines_is_a_value() -> None:
    data = b'{"body": "fine"}\n' + b"[" * 30_000 + b"\n" + b'{"body": ' + b"[" * 5000 + b"\n"
    results = parse_bytes(data, "deep.jsonl", "fuzz", NOW, CFG)
    check(results)
    assert [getattr(r, "reason", "ok") for r in results] == ["ok", "json-too-deep", "json-too-deep"]
