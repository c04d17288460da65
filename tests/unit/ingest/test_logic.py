"""parse_bytes: every input becomes articles or rejections with a reason, never an exception."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import pytest

from services.common.records import Article, Rejected
from services.common.settings.ingest import IngestSettings
from services.ingest.logic import (
    article_id,
    choose_canonical,
    detect_kind,
    parse_bytes,
    sniff_kind,
)

BODY = (
    "The council approved the new budget on Monday after a long debate about school funding and roads. "
    "Opposition members said the plan leaves too little for repairs."
)


def one(data: bytes, source: str, now: datetime, cfg: IngestSettings, **kw: str) -> Article | Rejected:
    results = parse_bytes(data, source, "ing-1", now, cfg, **kw)
    assert len(results) == 1, results
    return results[0]


def rec(**fields: object) -> bytes:
    return json.dumps({"body": BODY, **fields}).encode()


BAD_INPUTS = [
    # (why, source, bytes, reason)
    ("an empty file", "a.txt", b"", "empty-input"),
    ("a file of blanks", "a.txt", b"  \n\t \n", "empty-input"),
    ("binary bytes with NULs", "a.txt", bytes(range(256)) * 8, "binary-input"),
    ("binary junk without NULs", "a.txt", bytes(range(1, 32)) * 200, "binary-input"),
    ("10 MB of text", "a.txt", b"word " * (2 * 1024 * 1024), "too-large"),
    ("3 MB of text (past max_article_bytes, under the HTML cap)", "a.txt", b"word " * 600_000, "too-large"),
    (
        "an HTML page with no article",
        "a.html",
        b"<html><body><nav><a href='/'>Home</a></nav></body></html>",
        "no-article",
    ),
    ("broken JSON", "a.json", b'{"title": "x", "body": ', "invalid-json"),
    ("JSON nested 200,000 levels deep", "a.json", b"[" * 200_000, "json-too-deep"),
    ("JSON objects nested 200,000 levels deep", "a.json", b'{"a":' * 200_000, "json-too-deep"),
    ("a JSON string instead of an object", "a.json", b'"just a string"', "invalid-record"),
    ("a body that is a number", "a.json", b'{"body": 42}', "invalid-field"),
    ("a title that is a list", "a.json", rec(title=["a"]), "invalid-field"),
    ("a url that is an object", "a.json", rec(url={"href": "x"}), "invalid-field"),
    ("a record without a body", "a.json", b'{"title": "Only a title"}', "missing-body"),
    ("a body of control characters only", "a.json", b'{"body": "\\u0001\\u0002\\u0007"}', "empty-body"),
    ("a date in year 0", "a.json", rec(published_at="0000-01-01"), "invalid-field"),
    ("a date in year 9999", "a.json", rec(published_at="9999-12-31T00:00:00Z"), "invalid-field"),
    (
        "a date that overflows when moved to UTC",
        "a.json",
        rec(published_at="0001-01-01T00:00:00+05:00"),
        "invalid-field",
    ),
    ("a date that is not a date", "a.json", rec(published_at="yesterday"), "invalid-field"),
    ("a date given as a number", "a.json", rec(published_at=1700000000), "invalid-field"),
    ("a 100 KB title", "a.json", rec(title="T" * 100_000), "title-too-long"),
    ("a gzip file cut short", "a.txt.gz", gzip.compress(BODY.encode())[:20], "invalid-gzip"),
    ("a gzip bomb", "a.txt.gz", gzip.compress(b"\0" * (20 * 1024 * 1024)), "too-large"),
    ("a JSON list with no records", "a.json", b"[]", "no-records"),
]


@pytest.mark.parametrize(("why", "source", "data", "reason"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_rejected_with_a_reason(
    why: str, source: str, data: bytes, reason: str, now: datetime, cfg: IngestSettings
) -> None:
    got = one(data, source, now, cfg)
    assert isinstance(got, Rejected)
    assert got.reason == reason
    assert got.trace is not None and got.trace.source == source and got.trace.ingest_id == "ing-1"


def test_control_characters_are_removed_from_the_body(now: datetime, cfg: IngestSettings) -> None:
    got = one(rec(body="Line one\u0000 with\u0007 bells.\u001b\nLine two " + BODY), "a.json", now, cfg)
    assert isinstance(got, Article)
    assert "\u0000" not in got.body and "\u0007" not in got.body and "\u001b" not in got.body
    assert got.body.startswith("Line one with bells.\nLine two")


def test_one_bad_record_does_not_sink_the_others(now: datetime, cfg: IngestSettings) -> None:
    data = b"\n".join([rec(title="good one"), b"{not json", b'{"title": "no body"}', rec(title="good two")])
    results = parse_bytes(data, "batch.jsonl", "ing-1", now, cfg)
    assert [type(r).__name__ for r in results] == ["Article", "Rejected", "Rejected", "Article"]
    assert [r.trace.record for r in results if r.trace] == [0, 1, 2, 3]
    assert all(r.trace and r.trace.records == 4 for r in results)


NON_UTF8 = [
    # (why, encoded bytes, text that must come out)
    (
        "latin-1 French",
        "Le café de la gare rouvre après l'été, a déclaré le maire de la commune.".encode("latin-1"),
        "café de la gare",
    ),
    (
        "cp1252 curly quotes and euro",
        "“Prices rose 5 € on Monday,” the minister said — again.".encode("cp1252"),
        "“Prices rose 5 €",
    ),
    (
        "UTF-16 with a BOM",
        "Die Bürgermeisterin eröffnete die neue Brücke über den Fluss.".encode("utf-16"),
        "Bürgermeisterin",
    ),
    (
        "UTF-16 LE without a BOM",
        "The mayor opened the new bridge across the river today.".encode("utf-16-le"),
        "mayor opened",
    ),
    (
        "Shift-JIS Japanese",
        "東京都は今日、新しい交通政策を発表しました。経済への影響が注目されています。".encode("shift_jis"),
        "東京都は今日",
    ),
    (
        "KOI8-R Russian",
        "Москва сегодня объявила о новых мерах поддержки экономики региона.".encode("koi8-r"),
        "Москва сегодня",
    ),
    (
        "cp1251 Russian",
        "Правительство утвердило новый бюджет на следующий год после долгих споров.".encode("cp1251"),
        "Правительство утвердило",
    ),
    (
        "GB18030 Chinese",
        "北京今天宣布了新的经济政策，市场反应积极，专家认为这将促进增长。".encode("gb18030"),
        "北京今天宣布",
    ),
    ("UTF-8 with a BOM", "\ufeffGrüße aus Köln, wo heute die Sonne scheint.".encode(), "Grüße aus Köln"),
]


@pytest.mark.parametrize(("why", "data", "expected"), NON_UTF8, ids=[n[0] for n in NON_UTF8])
def test_non_utf8_text_is_ingested_in_its_own_encoding(
    why: str, data: bytes, expected: str, now: datetime, cfg: IngestSettings
) -> None:
    got = one(data, "story.txt", now, cfg)
    assert isinstance(got, Article), got
    assert expected in got.body


def test_seed_format_keeps_title_and_date(now: datetime, cfg: IngestSettings) -> None:
    got = one(b"date 2025-03-04\nCouncil approves budget\n\n" + BODY.encode(), "seed.txt", now, cfg)
    assert isinstance(got, Article)
    assert got.title == "Council approves budget"
    assert got.published_at is not None and got.published_at.isoformat() == "2025-03-04T00:00:00+00:00"
    assert got.language == "en"


def test_the_id_derives_from_the_canonical_url(now: datetime, cfg: IngestSettings) -> None:
    a = one(rec(url="https://www.example.com/story?utm_source=x"), "a.json", now, cfg)
    b = one(rec(url="https://example.com/story#top", body=BODY + " Updated."), "b.json", now, cfg)
    assert isinstance(a, Article) and isinstance(b, Article)
    assert a.canonical_url == b.canonical_url == "https://example.com/story"
    assert a.id == b.id == article_id("https://example.com/story", "")
    assert a.url == "https://www.example.com/story?utm_source=x"


def test_a_record_whose_url_is_not_http_is_rejected_not_silently_stripped(
    now: datetime, cfg: IngestSettings
) -> None:
    got = one(rec(url="javascript:void(0)"), "a.json", now, cfg)
    assert isinstance(got, Rejected) and got.reason == "invalid-url"


@pytest.mark.parametrize(
    "url", ["https://\u0430pple.com/news/1", "https://paypa\u04cf.com/a", "https://xn--pple-43d.com/x"]
)
def test_a_homoglyph_host_is_rejected(url: str, now: datetime, cfg: IngestSettings) -> None:
    got = one(rec(url=url), "a.json", now, cfg)
    assert isinstance(got, Rejected) and got.reason == "homoglyph-url"


@pytest.mark.parametrize(
    "url", ["https://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/a", "https://www.example.com/a"]
)
def test_a_single_script_host_is_accepted(url: str, now: datetime, cfg: IngestSettings) -> None:
    assert isinstance(one(rec(url=url), "a.json", now, cfg), Article)


def test_the_id_derives_from_the_text_without_a_url(now: datetime, cfg: IngestSettings) -> None:
    a = one(rec(), "a.json", now, cfg)
    b = one(rec(), "b.json", now, cfg)
    assert isinstance(a, Article) and isinstance(b, Article)
    assert a.canonical_url is None and a.id == b.id


def test_a_declared_canonical_url_wins_over_the_url(now: datetime, cfg: IngestSettings) -> None:
    got = one(
        rec(url="https://example.com/print/123", canonical_url="https://example.com/news/123"),
        "a.json",
        now,
        cfg,
    )
    assert isinstance(got, Article) and got.canonical_url == "https://example.com/news/123"


@pytest.mark.parametrize(
    ("declared", "url", "expected"),
    [
        ("https://example.com/a", "https://example.com/b", "https://example.com/a"),
        (None, "https://www.example.com/b/", "https://example.com/b"),
        ("https://example.com/", "https://example.com/news/1", "https://example.com/news/1"),
        ("https://example.com/", "https://example.com/", "https://example.com/"),
        ("https://example.com/?p=5", "https://example.com/2020/x", "https://example.com/?p=5"),
        ("not a url", "https://example.com/b", "https://example.com/b"),
        (None, None, None),
    ],
)
def test_a_home_page_canonical_does_not_merge_every_article_of_a_site(
    declared: str | None, url: str | None, expected: str | None
) -> None:
    assert choose_canonical(declared, url) == expected


@pytest.mark.parametrize(
    ("fields", "language"),
    [
        ({"body": "Der Stadtrat hat am Montag nach langer Debatte den neuen Haushalt beschlossen."}, "de"),
        ({"body": "El ayuntamiento aprobó el lunes el nuevo presupuesto tras un largo debate."}, "es"),
        ({"body": BODY, "language": "fr-CA"}, "fr"),
        ({"body": "OK"}, None),
    ],
)
def test_language_is_the_records_own_or_detected(
    fields: dict[str, str], language: str | None, now: datetime, cfg: IngestSettings
) -> None:
    got = one(json.dumps(fields).encode(), "a.json", now, cfg)
    assert isinstance(got, Article) and got.language == language


@pytest.mark.parametrize(
    ("source", "declared", "kind"),
    [
        ("a.txt", "auto", "txt"),
        ("a.json", "auto", "json"),
        ("a.jsonl", "auto", "jsonl"),
        ("a.ndjson", "auto", "jsonl"),
        ("a.html", "auto", "html"),
        ("a.htm", "auto", "html"),
        ("a.html.gz", "auto", "html"),
        ("a.json.gz", "auto", "json"),
        ("A.HTML", "auto", "html"),
        ("https://example.com/feed/item.html?x=1", "auto", "html"),
        ("a.txt", "html", "html"),
        ("noext", "auto", "txt"),
    ],
)
def test_kind_comes_from_the_declared_kind_or_the_name(source: str, declared: str, kind: str) -> None:
    assert detect_kind(source, declared) == kind


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"<!DOCTYPE html><html>", "html"),
        (b"  <html lang='en'>", "html"),
        (b"<!-- x --><html>", "html"),
        (b'{"body": "x"}', "json"),
        (b"[{}]", "json"),
        (b"Plain words", None),
    ],
)
def test_nameless_inputs_are_sniffed(head: bytes, kind: str | None) -> None:
    assert sniff_kind(head) == kind


def test_a_nameless_jsonl_push_is_read_line_by_line(now: datetime, cfg: IngestSettings) -> None:
    results = parse_bytes(rec(title="a") + b"\n" + rec(title="b"), "push", "ing-1", now, cfg)
    assert [r.title for r in results if isinstance(r, Article)] == ["a", "b"]


def test_gzip_is_found_by_its_magic_bytes_not_its_name(now: datetime, cfg: IngestSettings) -> None:
    got = one(gzip.compress(rec(title="zipped")), "upload.json", now, cfg)
    assert isinstance(got, Article) and got.title == "zipped"


def test_html_page_becomes_an_article_with_its_metadata(
    fixtures_dir: Path, now: datetime, cfg: IngestSettings
) -> None:
    data = (fixtures_dir / "article-cp1252.html").read_bytes()
    got = one(data, "https://www.coastal.example/news/2025/harbour-bridge-reopens?utm_medium=x", now, cfg)
    assert isinstance(got, Article), got
    assert got.title == "Harbour bridge reopens after repairs"
    assert got.body.startswith("The harbour bridge reopened to traffic")
    assert "€4.2 million" in got.body and "“a rare thing”" in got.body  # declared windows-1252 honoured
    assert "cookies" not in got.body and "Most read" not in got.body
    assert got.canonical_url == "https://coastal.example/news/2025/harbour-bridge-reopens"
    assert got.id == article_id(got.canonical_url, "")
    assert got.author == "Maria Lopez"
    assert got.outlet == "The Coastal Gazette"
    assert got.published_at is not None and got.published_at.isoformat() == "2025-11-18T07:45:00+00:00"
    assert got.language == "en"


def test_gzipped_html_is_read_like_html(fixtures_dir: Path, now: datetime, cfg: IngestSettings) -> None:
    data = gzip.compress((fixtures_dir / "article-cp1252.html").read_bytes())
    got = one(data, "saved/page.html.gz", now, cfg)
    assert isinstance(got, Article) and got.title == "Harbour bridge reopens after repairs"
    assert got.canonical_url is None  # a relative canonical link and no page URL: nothing to resolve it on


def test_html_without_an_article_is_rejected_as_no_article(
    fixtures_dir: Path, now: datetime, cfg: IngestSettings
) -> None:
    got = one((fixtures_dir / "no-article.html").read_bytes(), "sections.html", now, cfg)
    assert isinstance(got, Rejected) and got.reason == "no-article"


def test_an_absurd_date_on_a_page_is_dropped_not_held_against_the_article(
    fixtures_dir: Path, now: datetime, cfg: IngestSettings
) -> None:
    page = (
        (fixtures_dir / "article-cp1252.html")
        .read_bytes()
        .replace(b"2025-11-18T07:45:00", b"9999-11-18T07:45:00")
    )
    got = one(page, "page.html", now, cfg)
    assert isinstance(got, Article)
    assert got.published_at is None or got.published_at.year < 9999
