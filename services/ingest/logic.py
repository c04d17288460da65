"""Pure ingest logic: bytes of one input -> articles, or reasons they are rejected. No I/O, no clock globals.

Formats: ``.txt`` (seed format: an optional first line ``date YYYY-MM-DD``; BBC style: title line, blank line,
body), ``.json`` (one record or a list of records), ``.jsonl`` (one record a line). Records carry
title/body/url/published_at/source (``text``/``content`` are accepted for the body).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import Any

import orjson

from services.common.records import Article, InboxItem, Rejected, Trace
from services.common.settings.ingest import IngestSettings
from services.common.text import clean, digest, normalize

_DATE_LINE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*\n?", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    """A record pulled out of an input before validation (fields may still be wrong)."""

    fields: dict[str, Any]


def detect_kind(source: str, declared: str = "auto") -> str:
    if declared != "auto":
        return declared
    name = PurePath(source.split("?", 1)[0]).name.lower()
    for ext, kind in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json"), (".html.gz", "html"),
                      (".htm", "html"), (".html", "html"), (".txt", "txt")):
        if name.endswith(ext):
            return kind
    return "txt"


def decode_text(data: bytes) -> str | Rejected:
    """Bytes -> text: UTF-8 (with or without BOM), UTF-16 by BOM, else cp1252/latin-1 when it reads as text."""
    if not data.strip():
        return Rejected(reason="empty-input", detail="the input has no content")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:4096]:
        return Rejected(reason="binary-input", detail="NUL bytes: this is not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    bad = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\n\r\t"))
    if bad > max(3, len(text) // 100):
        return Rejected(reason="binary-input", detail="bytes do not decode as text in any supported encoding")
    return text


def parse_txt(text: str) -> Iterator[Parsed]:
    fields: dict[str, Any] = {}
    m = _DATE_LINE.match(text)
    if m:
        fields["published_at"] = m.group(1)
        text = text[m.end():]
    text = text.strip()
    head, sep, rest = text.partition("\n\n")
    # "title line, blank line, body": a short first paragraph of one line, without final punctuation.
    if sep and "\n" not in head and len(head) <= 200 and not head.rstrip().endswith((".", "!", "?", '"', "”")):
        fields["title"] = head.strip()
        fields["body"] = rest
    else:
        fields["body"] = text
    yield Parsed(fields)


def parse_json(text: str, lines: bool) -> Iterator[Parsed | Rejected]:
    if lines:
        chunks = [ln for ln in text.splitlines() if ln.strip()]
    else:
        chunks = [text]
    for chunk in chunks:
        try:
            obj = orjson.loads(chunk)
        except orjson.JSONDecodeError as exc:
            yield Rejected(reason="invalid-json", detail=str(exc)[:200])
            continue
        items = obj if (isinstance(obj, list) and not lines) else [obj]
        for item in items:
            if not isinstance(item, dict):
                yield Rejected(reason="invalid-record", detail=f"expected a JSON object, got {type(item).__name__}")
            else:
                yield Parsed(item)


def _as_str(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, got {type(value).__name__}")
    return value


def parse_date(value: Any, now: datetime, cfg: IngestSettings) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"published_at must be an ISO date string, got {type(value).__name__}")
    s = value.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError as exc:
        raise ValueError(f"published_at {value[:40]!r} is not an ISO 8601 date") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    if dt.year < cfg.min_year or dt > now + timedelta(days=cfg.max_future_days):
        raise ValueError(f"published_at {value[:40]!r} is outside {cfg.min_year}..now+{cfg.max_future_days}d")
    return dt


def article_id(canonical_url: str | None, body: str) -> str:
    """Stable id: from the canonical URL when there is one, else from the normalized text."""
    if canonical_url:
        return digest("url:" + canonical_url)
    return digest("text:" + normalize(body))


def to_article(p: Parsed, trace: Trace, now: datetime, cfg: IngestSettings) -> Article | Rejected:
    f = p.fields
    try:
        body = _as_str(f.get("body", f.get("text", f.get("content"))), "body")
        title = _as_str(f.get("title"), "title") or ""
        url = _as_str(f.get("url"), "url")
        outlet = _as_str(f.get("source", f.get("outlet")), "source")
        author = _as_str(f.get("author"), "author")
        published = parse_date(f.get("published_at", f.get("date")), now, cfg)
    except ValueError as exc:
        return Rejected(reason="invalid-field", detail=str(exc), trace=trace)
    if body is None:
        return Rejected(reason="missing-body", detail="record has no body/text field", trace=trace)
    body = clean(body)
    title = clean(title)
    if not body:
        return Rejected(reason="empty-body", detail="the article body is empty", trace=trace)
    if len(title) > cfg.max_title_chars:
        return Rejected(reason="title-too-long", detail=f"title has {len(title)} chars (max {cfg.max_title_chars})",
                        trace=trace)
    canonical = url.strip() if url else None
    return Article(
        id=article_id(canonical, body), trace=trace, source=trace.source, title=title, body=body, url=url,
        canonical_url=canonical, outlet=outlet, author=author, published_at=published, ingested_at=now,
    )


def parse_item(item: InboxItem, now: datetime, cfg: IngestSettings) -> list[Article | Rejected]:
    """Everything one inbox item holds, each record an article or a rejection with its trace."""
    try:
        data = base64.b64decode(item.content_b64, validate=True)
    except ValueError:
        return [Rejected(reason="invalid-record", detail="content_b64 is not base64",
                         trace=Trace(ingest_id=item.ingest_id, source=item.source))]
    return parse_bytes(data, item.source, item.ingest_id, now, cfg, kind=item.kind)


def parse_bytes(data: bytes, source: str, ingest_id: str, now: datetime, cfg: IngestSettings,
                kind: str = "auto") -> list[Article | Rejected]:
    one = Trace(ingest_id=ingest_id, source=source)
    if len(data) > cfg.max_article_bytes:
        return [Rejected(reason="too-large", detail=f"{len(data)} bytes > max_article_bytes {cfg.max_article_bytes}",
                         trace=one)]
    text = decode_text(data)
    if isinstance(text, Rejected):
        return [text.model_copy(update={"trace": one})]
    k = detect_kind(source, kind)
    parsed: list[Parsed | Rejected]
    if k in ("json", "jsonl"):
        parsed = list(parse_json(text, lines=(k == "jsonl")))
    elif k == "html":
        return [Rejected(reason="unsupported-format", detail="HTML extraction is not available yet", trace=one)]
    else:
        parsed = list(parse_txt(text))
    if not parsed:
        return [Rejected(reason="no-records", detail="the input holds no records", trace=one)]
    n = len(parsed)
    out: list[Article | Rejected] = []
    for i, p in enumerate(parsed):
        trace = Trace(ingest_id=ingest_id, record=i, records=n, source=source)
        if isinstance(p, Rejected):
            out.append(p.model_copy(update={"trace": trace}))
        else:
            out.append(to_article(p, trace, now, cfg))
    return out
