"""HTML page -> article fields (pure: no network, no clock, no env).

The body comes from trafilatura (main-content detection with readability/jusText fallbacks), tuned on the
scrapinghub article-extraction benchmark (``scripts/eval_extraction.py``): comments excluded and
``favor_precision`` on give body F1 0.964 on its 181 pages; when precision mode keeps less than 500 chars, a
second, balanced pass runs and wins when it finds more (it rescues pages whose article sits in an unusual
container): 0.968; the headline repeated as the body's first line is dropped (it is the title): 0.970. Dates come from htmldate
(via trafilatura) with ``original_date`` (publication, not last update) and without the pattern search over
the text, which guesses wrong more often than it finds a date the markup does not give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.settings import Document
from trafilatura.utils import load_html

from services.common.records import Rejected
from services.common.text import normalize

_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]{2,8})*$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_WS = re.compile(r"[ \t\u00a0]+")
_PUBLISHED_META = (
    "//meta[@property='article:published_time']/@content",
    "//meta[@name='article:published_time']/@content",
    "//meta[@itemprop='datePublished']/@content",
    "//meta[@name='pubdate']/@content",
    "//meta[@name='publishdate']/@content",
    "//meta[@name='date']/@content",
    "//meta[@name='dc.date.issued']/@content",
)


@dataclass(frozen=True)
class Extracted:
    """What a page says about its article. Strings as found; validation is the caller's (``to_article``)."""

    title: str
    text: str
    author: str | None = None
    published_at: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    sitename: str | None = None

    def as_fields(self, url: str | None) -> dict[str, Any]:
        """The record fields ``logic.to_article`` reads."""
        return {
            "title": self.title,
            "body": self.text,
            "author": self.author,
            "published_at": self.published_at,
            "url": url,
            "canonical_url": self.canonical_url,
            "language": self.language,
            "outlet": self.sitename,
        }


def _first(tree: HtmlElement, xpaths: tuple[str, ...] | list[str]) -> str | None:
    for xp in xpaths:
        for value in tree.xpath(xp):
            s = str(value).strip()
            if s:
                return s
    return None


def declared_canonical(tree: HtmlElement, base_url: str | None) -> str | None:
    """``<link rel=canonical>`` or ``og:url``, made absolute against the page URL."""
    href = _first(
        tree,
        (
            "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANONICAL', 'canonical')), ' '),"
            " ' canonical ')]/@href",
            "//meta[@property='og:url']/@content",
            "//meta[@name='og:url']/@content",
        ),
    )
    if not href or len(href) > 4096:
        return None
    try:
        return urljoin(base_url, href) if base_url else href
    except ValueError:
        return None


def declared_language(tree: HtmlElement) -> str | None:
    """The ISO 639 code the page declares (``<html lang>``, ``content-language``, ``og:locale``), if any."""
    value = _first(
        tree,
        (
            "/html/@lang",
            "/html/@xml:lang",
            "//meta[translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')='content-language']/@content",
            "//meta[@property='og:locale']/@content",
        ),
    )
    if not value:
        return None
    m = _LANG.match(value.split(",")[0].strip())
    return m.group(1).lower() if m else None


def _published(tree: HtmlElement, htmldate_day: str | None) -> str | None:
    # htmldate gives a day; the article:published_time meta often also has the time, which freshness wants.
    precise = _first(tree, _PUBLISHED_META)
    # Only when htmldate agrees on the day: it also checks the date is plausible (not after now, not before 1995).
    if precise and htmldate_day and _ISO_DATETIME.match(precise) and precise.startswith(htmldate_day):
        return precise.replace(" ", "T", 1)
    return htmldate_day


def _run(tree: HtmlElement, url: str | None, now: datetime, precision: bool) -> Document | None:
    doc = bare_extraction(
        tree,
        url=url,
        favor_precision=precision,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        date_extraction_params={
            "original_date": True,
            "extensive_search": False,
            "max_date": now.astimezone(UTC).strftime("%Y-%m-%d"),
        },
    )
    return doc if isinstance(doc, Document) else None


def _tidy(text: str) -> str:
    return "\n".join(_WS.sub(" ", line).strip() for line in text.splitlines()).strip()


def extract_html(
    html: str,
    url: str | None,
    now: datetime,
    *,
    min_chars: int = 200,
    favor_precision: bool = True,
    retry_below_chars: int = 500,
) -> Extracted | Rejected:
    """The article of an HTML page, or Rejected('no-article') when the page holds none worth keeping.

    ``retry_below_chars``: precision-mode text shorter than this triggers the balanced pass.
    ``now`` bounds the dates htmldate accepts (no clock is read here); ``url`` (where the page was fetched)
    resolves a relative canonical link and helps the date search.
    """
    try:
        tree = load_html(html)
    except (TypeError, ValueError) as exc:
        return Rejected(reason="no-article", detail=f"not parseable as HTML: {exc}"[:300])
    if tree is None:
        return Rejected(reason="no-article", detail="not parseable as HTML")
    try:
        doc = _run(tree, url, now, favor_precision)
        if favor_precision and (doc is None or len(doc.text or "") < max(min_chars, retry_below_chars)):
            second = _run(tree, url, now, False)
            if second is not None and (doc is None or len(second.text or "") > len(doc.text or "")):
                doc = second
    except RecursionError:
        return Rejected(reason="no-article", detail="HTML nested too deeply to extract")
    except Exception as exc:  # a third-party bug on one odd page must cost that page, not the worker
        return Rejected(reason="extract-error", detail=f"{type(exc).__name__}: {exc}"[:300])
    text = _tidy(doc.text or "") if doc else ""
    if doc is None or len(text) < min_chars:
        return Rejected(
            reason="no-article",
            detail=f"no article text found ({len(text)} chars < min_html_body_chars {min_chars})",
        )
    title = _tidy(doc.title or "")
    first, sep, rest = text.partition("\n")
    if sep and title and normalize(first) == normalize(title) and len(rest) >= min_chars:
        text = rest.strip()  # the headline repeated as the body's first line: it is the title, kept apart
    return Extracted(
        title=title,
        text=text,
        author=(doc.author or None),
        published_at=_published(tree, doc.date),
        canonical_url=declared_canonical(tree, url),
        language=declared_language(tree),
        sitename=(doc.sitename or None),
    )
