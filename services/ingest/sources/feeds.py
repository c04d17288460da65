"""RSS/Atom feeds as a source: poll with conditional GET, take only entries not seen before.

Per feed, a small JSON state file (``feed_state_path``) keeps the ETag / Last-Modified of the last answer
and the ids of the entries already taken (the newest ``feed_seen_max``). A poll:

1. GETs the feed with If-None-Match / If-Modified-Since: a 304 means nothing new, and nothing is parsed;
2. parses it with feedparser (from bytes: feedparser never fetches anything itself here);
3. for each entry not seen, oldest first, fetches the linked page (safely, ``fetch.py``) and yields it as an
   inbox item; an entry without a link, or whose page is refused for good (404, blocked, too large), is
   yielded from the feed's own title/summary instead;
4. marks the entry seen once the caller has taken the item (the generator resumes after the ``yield``), and
   saves the state after each feed: a crash repeats at most one feed's entries, it never loses one.

A page that fails transiently (timeout, 5xx) is not marked seen and the feed's validators are not saved, so
the next poll fetches the feed again and retries that entry.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import orjson
from lxml import etree

from services.common.records import InboxItem, Rejected, Trace
from services.common.text import digest
from services.ingest.fetch import Fetcher, transient
from services.ingest.sources import inbox_item
from services.ingest.sources.url import fetch_item

log = logging.getLogger(__name__)
ACCEPT_FEED = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


@dataclass
class FeedMemo:
    """What we remember of one feed between polls."""

    etag: str | None = None
    last_modified: str | None = None
    seen: list[str] = field(default_factory=list)


class FeedState:
    """The state file: ``{feed_url: FeedMemo}`` as JSON, replaced atomically on save."""

    def __init__(self, path: str | Path, seen_max: int) -> None:
        self.path = Path(path)
        self.seen_max = seen_max

    @classmethod
    def in_data_dir(cls, data_dir: str | Path, path: str | Path, seen_max: int) -> FeedState:
        """The state file kept with the rest of the data dir, so a restart of the stack (or of ``newsflow ingest
        --feed``) from anywhere conditional-GETs each feed and skips the entries it took before. An absolute
        ``path`` is used as given; a relative one names a file in ``data_dir`` (a leading ``.newsflow/``,
        the default data dir, is dropped: ``.newsflow/feeds-state.json`` is ``<data_dir>/feeds-state.json``)."""
        p = Path(path)
        if not p.is_absolute():
            parts = p.parts[1:] if p.parts[:1] == (".newsflow",) and len(p.parts) > 1 else p.parts
            p = Path(data_dir).joinpath(*parts)
        return cls(p, seen_max)

    def load(self) -> dict[str, FeedMemo]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # A damaged state file costs re-ingesting recent entries (ids keep that idempotent), not a crash.
            log.warning("feed state unreadable, starting afresh path=%s error=%s", self.path, exc)
            return {}
        out: dict[str, FeedMemo] = {}
        if isinstance(raw, dict):
            for url, memo in raw.items():
                if isinstance(memo, dict):
                    seen = memo.get("seen")
                    out[url] = FeedMemo(
                        etag=memo.get("etag") if isinstance(memo.get("etag"), str) else None,
                        last_modified=memo.get("last_modified")
                        if isinstance(memo.get("last_modified"), str)
                        else None,
                        seen=[s for s in seen if isinstance(s, str)] if isinstance(seen, list) else [],
                    )
        return out

    def save(self, state: dict[str, FeedMemo]) -> None:
        for memo in state.values():
            memo.seen = memo.seen[-self.seen_max :]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(orjson.dumps({u: asdict(m) for u, m in state.items()}, option=orjson.OPT_INDENT_2))
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def entry_key(entry: Any) -> str:
    """A stable id of a feed entry: its guid/id, else its link, else a digest of title and date."""
    for name in ("id", "link"):
        value = entry.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "digest:" + digest(f"{entry.get('title', '')}|{entry.get('published', '')}")


def _published(entry: Any) -> str | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    try:
        if not parsed:
            return None
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC).isoformat()
    except (TypeError, ValueError):
        return None


def _html_text(fragment: str) -> str:
    try:
        return str(lxml.html.fromstring(fragment).text_content()).strip() if fragment.strip() else ""
    except (ValueError, etree.ParserError):
        return fragment


def entry_record(entry: Any) -> dict[str, Any]:
    """The article a feed entry itself carries (title, summary/content as text, link, date)."""
    content = entry.get("content") or []
    html = content[0].get("value", "") if content and isinstance(content[0], dict) else ""
    return {
        "title": str(entry.get("title", "")),
        "body": _html_text(html or str(entry.get("summary", ""))),
        "url": entry.get("link"),
        "published_at": _published(entry),
        "author": entry.get("author") if isinstance(entry.get("author"), str) else None,
    }


class FeedSource:
    """New entries of RSS/Atom ``feeds`` since the last poll (state in ``state``)."""

    def __init__(self, feeds: list[str], fetcher: Fetcher, state: FeedState) -> None:
        self.feeds = list(feeds)
        self.fetcher = fetcher
        self.state = state
        self.name = "feeds"

    async def items(self) -> AsyncIterator[InboxItem | Rejected]:
        state = self.state.load()
        for feed_url in self.feeds:
            async for item in self._poll(feed_url, state):
                yield item

    async def _poll(self, feed_url: str, state: dict[str, FeedMemo]) -> AsyncIterator[InboxItem | Rejected]:
        memo = state.setdefault(feed_url, FeedMemo())
        got = await self.fetcher.get(
            feed_url, etag=memo.etag, last_modified=memo.last_modified, accept=ACCEPT_FEED
        )
        feed_trace = Trace(ingest_id="feed:" + digest(feed_url), record=0, records=1, source=feed_url)
        if isinstance(got, Rejected):
            yield got.model_copy(update={"trace": feed_trace})
            return
        if got.not_modified:
            log.debug("feed not modified url=%s", feed_url)
            return
        parsed = feedparser.parse(
            got.content,
            response_headers={
                "content-location": got.url,
                "content-type": got.content_type or "application/xml",
            },
        )
        entries = list(parsed.get("entries") or [])
        if not entries and parsed.get("bozo"):
            yield Rejected(
                reason="invalid-feed", detail=str(parsed.get("bozo_exception", ""))[:300], trace=feed_trace
            )
            return
        seen = set(memo.seen)
        retry_later = False
        fresh = [(entry_key(e), e) for e in entries]
        fresh = [(k, e) for k, e in fresh if k not in seen]
        for key, entry in reversed(fresh):  # feeds list newest first; ingest in publication order
            item = await self._entry_item(feed_url, key, entry)
            yield item
            if isinstance(item, Rejected) and transient(item):
                retry_later = True
                continue
            memo.seen.append(key)
            seen.add(key)
        if not retry_later:
            memo.etag, memo.last_modified = got.etag, got.last_modified
        self.state.save(state)

    async def _entry_item(self, feed_url: str, key: str, entry: Any) -> InboxItem | Rejected:
        ingest_id = "feed-" + digest(f"{feed_url}|{key}")
        link = entry.get("link")
        if isinstance(link, str) and link.startswith(("http://", "https://")):
            item = await fetch_item(self.fetcher, link, ingest_id=ingest_id, source=link)
            if isinstance(item, InboxItem) or transient(item):
                return item
            log.info("entry page refused, using the feed's own text url=%s reason=%s", link, item.reason)
        record = entry_record(entry)
        if not record["body"]:
            return Rejected(
                reason="empty-entry",
                detail="feed entry has no link to fetch and no text",
                trace=Trace(ingest_id=ingest_id, record=0, records=1, source=feed_url),
            )
        return inbox_item(
            ingest_id, record.get("url") or feed_url, orjson.dumps(record), kind="json", url=record.get("url")
        )
