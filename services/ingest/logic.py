"""Pure ingest logic: bytes of one input -> articles, or reasons they are rejected. No I/O, no clock globals.

Formats: ``.txt`` (seed format: an optional first line ``date YYYY-MM-DD``; BBC style: title line, blank line,
body), ``.json`` (one record or a list of records), ``.jsonl`` (one record a line), ``.html``/``.htm`` (the
article is extracted, see ``extract.py``). Any input may be gzip-compressed (found by its magic bytes, not its
name). Records carry title/body/url/published_at/source (``text``/``content`` are accepted for the body).

Encodings are detected (``encoding.py``); the canonical URL (``services.ingest.urls``) and so the article id
derive from the record's ``canonical_url`` or ``url``; the language is the record's own or detected.
``parse_bytes`` never raises: every bad input becomes a ``Rejected`` with a short fixed reason.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

import orjson

from services.common.records import Article, InboxItem, Rejected, Trace
from services.common.settings.ingest import IngestSettings
from services.common.text import clean, digest, normalize
from services.ingest.encoding import TooLarge, decode_bytes, gunzip, is_gzip
from services.ingest.extract import extract_html
from services.ingest.language import detect_language
from services.ingest.urls import canonical_url, host_of, mixed_script_host

_DATE_LINE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*\n?", re.IGNORECASE)
_LANG_CODE = re.compile(r"^[a-z]{2,3}$")
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
    return _kind_from_name(source) or "txt"


def _kind_from_name(source: str) -> str | None:
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


def decode_text(data: bytes) -> str | Rejected:
    """Bytes -> text in the encoding detected (BOM, UTF-16 by NUL pattern, UTF-8, charset-normalizer).

    Empty input -> Rejected('empty-input'); binary junk -> Rejected('binary-input').
    """
    return decode_bytes(data)


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


def parse_html(text: str, url: str | None, now: datetime, cfg: IngestSettings) -> Iterator[Parsed | Rejected]:
    """The one article of an HTML page (dates the page gets wrong are dropped, not held against it)."""
    got = extract_html(
        text,
        url,
        now,
        min_chars=cfg.min_html_body_chars,
        favor_precision=cfg.html_favor_precision,
        retry_below_chars=cfg.html_retry_below_chars,
    )
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
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        dt = dt.astimezone(UTC)
    except (
        ValueError,
        OverflowError,
    ) as exc:  # year 0, month 13, '0001-01-01T00:00+05:00' (overflows in UTC)
        raise ValueError(f"published_at {value[:40]!r} is not an ISO 8601 date") from exc
    if dt.year < cfg.min_year or dt > now + timedelta(days=cfg.max_future_days):
        raise ValueError(f"published_at {value[:40]!r} is outside {cfg.min_year}..now+{cfg.max_future_days}d")
    return dt


def article_id(canonical_url: str | None, body: str) -> str:
    """Stable id: from the canonical URL when there is one, else from the normalized text."""
    if canonical_url:
        return digest("url:" + canonical_url)
    return digest("text:" + normalize(body))


def choose_canonical(declared: str | None, url: str | None) -> str | None:
    """The canonical URL of an article: the one the page/record declares, else its own URL, canonicalized.

    A declared canonical that is a site's home page while the article's URL is not is a CMS template bug
    (every page pointing at '/'); trusting it would give every article of the site one id.
    """
    own = canonical_url(url)
    decl = canonical_url(declared)
    if decl and own and urlsplit(decl).path == "/" and not urlsplit(decl).query and urlsplit(own).path != "/":
        return own
    return decl or own


def _language(f: dict[str, Any], title: str, body: str, cfg: IngestSettings) -> str | None:
    given = _as_str(f.get("language", f.get("lang")), "language")
    if given:
        code = given.strip().lower().replace("_", "-").split("-")[0]
        if _LANG_CODE.match(code):
            return code
    detected = detect_language(f"{title}\n{body}", cfg.languages, cfg.language_sample_chars)
    if detected:
        return detected
    declared = f.get("declared_language")
    return declared if isinstance(declared, str) and _LANG_CODE.match(declared) else None


def to_article(p: Parsed, trace: Trace, now: datetime, cfg: IngestSettings) -> Article | Rejected:
    f = p.fields
    try:
        body = _as_str(f.get("body", f.get("text", f.get("content"))), "body")
        title = _as_str(f.get("title"), "title") or ""
        url = _as_str(f.get("url"), "url")
        declared = _as_str(f.get("canonical_url"), "canonical_url")
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
    if len(body) > cfg.max_article_bytes:
        return Rejected(
            reason="too-large",
            detail=f"body has {len(body)} chars > max_article_bytes {cfg.max_article_bytes}",
            trace=trace,
        )
    if len(title) > cfg.max_title_chars:
        return Rejected(
            reason="title-too-long",
            detail=f"title has {len(title)} chars (max {cfg.max_title_chars})",
            trace=trace,
        )
    try:
        language = _language(f, title, body, cfg)
    except ValueError as exc:
        return Rejected(reason="invalid-field", detail=str(exc), trace=trace)
    url = url.strip() if url else None
    if url and canonical_url(url) is None:
        return Rejected(
            reason="invalid-url", detail=f"url {url[:80]!r} is not an absolute http(s) URL", trace=trace
        )
    if url and (label := mixed_script_host(url)):
        return Rejected(
            reason="homoglyph-url",
            detail=f"host label {label!r} mixes Latin with Cyrillic/Greek "
            "letters (a look-alike of another site)",
            trace=trace,
        )
    canonical = choose_canonical(declared, url)
    author = (clean(author)[:300] or None) if author else None
    outlet = (clean(outlet)[:200] or None) if outlet else None
    return Article(
        id=article_id(canonical, body),
        trace=trace,
        source=trace.source,
        title=title,
        body=body,
        url=url,
        canonical_url=canonical,
        outlet=outlet or host_of(canonical),
        author=author,
        published_at=published,
        ingested_at=now,
        language=language,
    )


def parse_item(item: InboxItem, now: datetime, cfg: IngestSettings) -> list[Article | Rejected]:
    """Everything one inbox item holds, each record an article or a rejection with its trace.

    ``ingested_at`` is when the item was accepted (``received_at``), not when this worker got to it: it orders
    arrivals for dedupe the way they were submitted, however the inbox partitions were consumed, and stays the
    same when the item is processed again.
    """
    try:
        data = base64.b64decode(item.content_b64, validate=True)
    except ValueError:
        return [
            Rejected(
                reason="invalid-record",
                detail="content_b64 is not base64",
                trace=Trace(ingest_id=item.ingest_id, record=0, records=1, source=item.source),
            )
        ]
    out = parse_bytes(data, item.source, item.ingest_id, now, cfg, kind=item.kind, url=item.url)
    accepted = min(item.received_at, now)
    return [r.model_copy(update={"ingested_at": accepted}) if isinstance(r, Article) else r for r in out]


def _source_url(source: str) -> str | None:
    return source if source.startswith(("http://", "https://")) else None


def parse_bytes(
    data: bytes,
    source: str,
    ingest_id: str,
    now: datetime,
    cfg: IngestSettings,
    kind: str = "auto",
    url: str | None = None,
) -> list[Article | Rejected]:
    """Every record of one input, as articles or rejections. Never raises.

    ``url``: where the input was fetched from (resolves relative canonical links of HTML pages); defaults to
    ``source`` when that is an http(s) URL.
    """
    one = Trace(ingest_id=ingest_id, record=0, records=1, source=source)

    def reject(reason: str, detail: str) -> list[Article | Rejected]:
        return [Rejected(reason=reason, detail=detail, trace=one)]

    limit = max(cfg.max_article_bytes, cfg.max_html_bytes)
    if len(data) > limit:
        return reject("too-large", f"{len(data)} bytes > max(max_article_bytes, max_html_bytes) {limit}")
    if is_gzip(data):
        try:
            data = gunzip(data, limit)
        except TooLarge as exc:
            return reject("too-large", str(exc))
        except ValueError as exc:
            return reject("invalid-gzip", str(exc)[:200])
    k = detect_kind(source, kind)
    sniffed = kind == "auto" and _kind_from_name(source) is None
    if sniffed:
        k = sniff_kind(data) or k
    cap = cfg.max_html_bytes if k == "html" else cfg.max_article_bytes
    if len(data) > cap:
        setting = "max_html_bytes" if k == "html" else "max_article_bytes"
        return reject("too-large", f"{len(data)} bytes > {setting} {cap}")
    text = decode_bytes(data, html=(k == "html"))
    if isinstance(text, Rejected):
        return [text.model_copy(update={"trace": one})]
    if k == "json" and sniffed and looks_like_jsonl(text):
        k = "jsonl"
    return parse_text(text, k, source, ingest_id, now, cfg, url=url or _source_url(source))


def parse_text(
    text: str,
    kind: str,
    source: str,
    ingest_id: str,
    now: datetime,
    cfg: IngestSettings,
    url: str | None = None,
) -> list[Article | Rejected]:
    """Every record of decoded ``text`` of a known ``kind`` (txt/json/jsonl/html). Never raises.

    No size cap here: ``parse_bytes`` applies the per-input one, the push API its per-request one; each
    article body is still held to ``max_article_bytes`` by ``to_article``.
    """
    parsed: list[Parsed | Rejected]
    if kind in ("json", "jsonl"):
        parsed = list(parse_json(text, lines=(kind == "jsonl")))
    elif kind == "html":
        parsed = list(parse_html(text, url, now, cfg))
    else:
        parsed = list(parse_txt(text))
    if not parsed:
        return [
            Rejected(
                reason="no-records",
                detail="the input holds no records",
                trace=Trace(ingest_id=ingest_id, record=0, records=1, source=source),
            )
        ]
    n = len(parsed)
    out: list[Article | Rejected] = []
    for i, p in enumerate(parsed):
        trace = Trace(ingest_id=ingest_id, record=i, records=n, source=source)
        if isinstance(p, Rejected):
            out.append(p.model_copy(update={"trace": trace}))
        else:
            out.append(to_article(p, trace, now, cfg))
    return out
