"""Fuzz targets for the hostile surfaces (hypothesis, run briefly in every test run): the push body parser,
feeds, and HTML; whatever the bytes, the answer is a value, never an exception, and never raw markup in a
highlight."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.records import Article, Rejected
from services.common.settings.ingest import IngestSettings
from services.index.search import safe_fragment
from services.ingest.logic import parse_bytes
from services.ingest.push import Refusal, parse_body
from services.ingest.sources.feeds import entry_key, entry_record

CFG = IngestSettings(max_article_bytes=64 * 1024, max_html_bytes=64 * 1024, push_max_records=50)
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
BRIEF = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PUSH_STATUSES = {400, 413}
hostile_text = st.text(max_size=120) | st.sampled_from(
    [
        "<script>alert(1)</script>",
        "\ufeff",
        "\x00",
        "\ud7ff\ue000",
        "&lt;b&gt;",
        "]]>",
        "<!ENTITY x SYSTEM 'file:///etc/passwd'>",
    ]
)
records = st.dictionaries(
    st.sampled_from(["title", "body", "text", "url", "published_at", "language", "author", "x"]),
    hostile_text | st.integers() | st.none() | st.lists(st.integers(), max_size=2),
    max_size=6,
)


def push_bodies() -> st.SearchStrategy[bytes]:
    as_list = st.lists(records, max_size=60).map(lambda rs: json.dumps(rs).encode())
    as_lines = st.lists(records, max_size=60).map(lambda rs: b"\n".join(json.dumps(r).encode() for r in rs))
    raw = st.binary(max_size=2048)
    mixed = st.tuples(as_lines, raw).map(lambda t: t[0] + b"\n" + t[1])
    return st.one_of(as_list, as_lines, raw, mixed).flatmap(
        lambda b: st.sampled_from([b, gzip.compress(b), b[: len(b) // 2]])
    )


@BRIEF
@given(body=push_bodies(), kind=st.sampled_from(["auto", "jsonl"]))
def test_any_push_body_is_answered_with_records_or_one_refusal(body: bytes, kind: str) -> None:
    got = parse_body(body, kind, "fuzz", NOW, CFG)
    if isinstance(got, Refusal):
        assert got.status in PUSH_STATUSES and got.reason
        return
    assert 0 < len(got) <= CFG.push_max_records
    for r in got:
        assert isinstance(r, Article | Rejected)
        if isinstance(r, Article):
            r.to_json()


def rss(items: list[tuple[str, str, str]], declaration: str) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description></item>"
        for t, link, d in items
    )
    return (f'<?xml version="1.0"?>{declaration}<rss version="2.0"><channel>{body}</channel></rss>').encode(
        "utf-8", errors="replace"
    )


@BRIEF
@given(
    items=st.lists(st.tuples(hostile_text, hostile_text, hostile_text), max_size=5),
    declaration=st.sampled_from(
        [
            "",
            '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
            '<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;">]>',
        ]
    ),
    garbage=st.binary(max_size=200),
)
def test_any_feed_yields_entries_as_records_without_reading_files(
    items: list[tuple[str, str, str]], declaration: str, garbage: bytes
) -> None:
    for content in (rss(items, declaration), garbage, rss(items, declaration)[:-20] + garbage):
        parsed = feedparser.parse(content, response_headers={"content-type": "application/xml"})
        for entry in parsed.get("entries") or []:
            key = entry_key(entry)
            assert isinstance(key, str) and key
            record: dict[str, Any] = entry_record(entry)
            assert "root:x:0:0" not in json.dumps(record, default=str)
            check_record = parse_bytes(json.dumps(record, default=str).encode(), "f.json", "fuzz", NOW, CFG)
            assert all(isinstance(r, Article | Rejected) for r in check_record)


html_pages = st.builds(
    lambda head, paras, tail: (
        f"<html><head>{head}</head><body><article>"
        + "".join(f"<p>{p}</p>" for p in paras)
        + f"</article>{tail}"
    ),
    hostile_text,
    st.lists(hostile_text, max_size=5),
    hostile_text | st.just("<svg onload=alert(1)>") | st.just("<iframe src=javascript:alert(1)>"),
)


@BRIEF
@given(page=html_pages, zipped=st.booleans())
def test_any_html_page_is_an_article_or_a_rejection(page: str, zipped: bool) -> None:
    data = page.encode("utf-8", errors="replace")
    for r in parse_bytes(gzip.compress(data) if zipped else data, "p.html", "fuzz", NOW, CFG):
        assert isinstance(r, Article | Rejected)


@BRIEF
@given(
    fragment=st.text(max_size=200) | st.lists(hostile_text | st.just("<em>") | st.just("</em>")).map("".join)
)
def test_a_safe_fragment_has_no_markup_but_em(fragment: str) -> None:
    safe = safe_fragment(fragment)
    assert "<" not in safe.replace("<em>", "").replace("</em>", "")
    assert ">" not in safe.replace("<em>", "").replace("</em>", "")
