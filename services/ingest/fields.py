"""Field validation: the fields of one record -> an ``Article``, or a ``Rejected`` saying which field is wrong.

Checks types (every field a string), dates (ISO 8601, within ``min_year`` .. now + ``max_future_days``), the
body (present, not empty, at most ``max_article_bytes``), the title length, the URL (absolute http(s), no
look-alike host); derives the canonical URL (``services.ingest.urls``), the article id and the language (the
record's own or detected). Pure: ``now`` and the settings are passed in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from services.common.records import Article, Rejected, Trace
from services.common.settings.ingest import IngestSettings
from services.common.text import clean, digest, normalize
from services.ingest.language import detect_language
from services.ingest.urls import canonical_url, host_of, mixed_script_host

if TYPE_CHECKING:
    from services.ingest.formats import Parsed

_LANG_CODE = re.compile(r"^[a-z]{2,3}$")


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
