"""Format detection: what kind of input a byte string is, and the records pulled out of it (pure).

Formats: ``.txt`` (seed format: an optional first line ``date YYYY-MM-DD``; BBC style: title line, blank line,
body), ``.json`` (one record or a list of records), ``.jsonl`` (one record a line), ``.html``/``.htm`` (the
article is extracted, see ``extract.py``). The kind comes from the declared one, else the name (``.gz``
looked through), else the first bytes (for URLs and pushes). Decoding bytes to text is ``encoding.py``'s.

A format yields ``Parsed`` records (fields not yet checked) or ``Rejected`` for a chunk that is not a record;
``fields.py`` turns each ``Parsed`` into an ``Article`` or a ``Rejected``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

import orjson

from services.common.records import Rejected
from services.common.settings.ingest import IngestSettings
from services.ingest.extract import Extracted, extract_html
from services.ingest.fields import parse_date

_DATE_LINE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*\n?", re.IGNORECASE)
_HTML_START = re.compile(
    rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>])", re.IGNORECASE | re.DOTALL
)
_KINDS = (
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "json"),
    (".html.gz", "html"),
    (".htm", "html"),
    (".html", "html"),
    (".xhtml", "html"),
    (".txt", "txt"),
)


@dataclass(frozen=True)
class Parsed:
    """A record pulled out of an input before validation (fields may still be wrong)."""

    fields: dict[str, Any]


def detect_kind(source: str, declared: str = "auto") -> str:
    """The format of an input: the declared one, else from the name (``.gz`` looked through), else txt."""
    if declared != "auto":
        return declared
    return kind_from_name(source) or "txt"


def kind_from_name(source: str) -> str | None:
    path = urlsplit(source).path if "://" in source else source.split("?", 1)[0]
    name = PurePath(path).name.lower()
    if name.endswith(".gz") and not name.endswith(".html.gz"):
        name = name[:-3]
    for ext, kind in _KINDS:
        if name.endswith(ext):
            return kind
    return None


def sniff_kind(head: bytes) -> str | None:
    """The format the first bytes show, for inputs whose name tells nothing (URLs, pushes)."""
    head = head[:2048].lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(head):
        return "html"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "json"
    return None


def looks_like_jsonl(text: str) -> bool:
    """A nameless JSON input whose first line is a whole object and more lines follow is JSON Lines."""
    first, sep, rest = text.strip().partition("\n")
    if not sep or not rest.strip():
        return False
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False


def parse_txt(text: str) -> Iterator[Parsed]:
    fields: dict[str, Any] = {}
    m = _DATE_LINE.match(text)
    if m:
        fields["published_at"] = m.group(1)
        text = text[m.end() :]
    text = text.strip()
    head, sep, rest = text.partition("\n\n")
    # "title line, blank line, body": a short first paragraph of one line, without final punctuation.
    if (
        sep
        and "\n" not in head
        and len(head) <= 200
        and not head.rstrip().endswith((".", "!", "?", '"', "”"))
    ):
        fields["title"] = head.strip()
        fields["body"] = rest
    else:
        fields["body"] = text
    yield Parsed(fields)


def parse_json(text: str, lines: bool) -> Iterator[Parsed | Rejected]:
    chunks = [ln for ln in text.splitlines() if ln.strip()] if lines else [text]
    for chunk in chunks:
        try:
            obj = orjson.loads(chunk)
        except orjson.JSONDecodeError as exc:
            # orjson stops at depth 1024 ("depth limit exceeded") rather than overflow the stack: bad input.
            reason = "json-too-deep" if "depth" in str(exc) or "recursion" in str(exc) else "invalid-json"
            yield Rejected(reason=reason, detail=str(exc)[:200])
            continue
        items = obj if (isinstance(obj, list) and not lines) else [obj]
        for item in items:
            if not isinstance(item, dict):
                yield Rejected(
                    reason="invalid-record", detail=f"expected a JSON object, got {type(item).__name__}"
                )
            else:
                yield Parsed(item)


def extract_page(text: str, url: str | None, now: datetime, cfg: IngestSettings) -> Extracted | Rejected:
    """The article of an HTML page, extracted with the ingest settings (what ingest and its benchmark run)."""
    return extract_html(
        text,
        url,
        now,
        min_chars=cfg.min_html_body_chars,
        favor_precision=cfg.html_favor_precision,
        retry_below_chars=cfg.html_retry_below_chars,
    )


def parse_html(text: str, url: str | None, now: datetime, cfg: IngestSettings) -> Iterator[Parsed | Rejected]:
    """The one article of an HTML page (dates the page gets wrong are dropped, not held against it)."""
    got = extract_page(text, url, now, cfg)
    if isinstance(got, Rejected):
        yield got
        return
    fields = got.as_fields(url)
    try:
        parse_date(fields.get("published_at"), now, cfg)
    except ValueError:
        fields["published_at"] = None
    # The page's own lang attribute is often a template default: detection on the text decides first.
    fields["declared_language"] = fields.pop("language")
    if fields.get("title") and len(fields["title"]) > cfg.max_title_chars:
        fields["title"] = fields["title"][: cfg.max_title_chars]
    yield Parsed(fields)
