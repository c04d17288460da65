"""Feeds against a real HTTP server on 127.0.0.1: first poll takes all, a 304 takes nothing, a new entry once.

The pages are extraction-benchmark pages (real news HTML) served from memory; the feed links to them.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.records import Article, InboxItem, Rejected
from services.common.settings.ingest import IngestSettings
from services.ingest import logic
from services.ingest.fetch import Fetcher
from services.ingest.sources import Source
from services.ingest.sources.feeds import FeedSource, FeedState
from services.ingest.sources.url import UrlSource
from tests.unit.ingest.local_http import LocalServer, Page, rss

pytestmark = pytest.mark.integration
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def pages(shared_data: Path) -> dict[str, tuple[bytes, str]]:
    """Six benchmark pages: id -> (html bytes, first words of the true article body)."""
    bench = shared_data / "extraction-benchmark"
    if not (bench / "ground-truth.json").exists():
        pytest.skip(f"extraction benchmark not found at {bench}")
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(truth)[:6]
    return {
        k: (
            gzip.decompress((bench / "html" / f"{k}.html.gz").read_bytes()),
            " ".join(truth[k]["articleBody"].split()[:6]),
        )
        for k in keys
    }


def cfg_for(tmp_path: Path) -> IngestSettings:
    return IngestSettings(fetch_allow_hosts=("127.0.0.1",), feed_state_path=str(tmp_path / "feeds.json"))


async def drain(source: Source) -> list[InboxItem | Rejected]:
    return [item async for item in source.items()]


def articles(items: list[InboxItem | Rejected], cfg: IngestSettings) -> list[Article | Rejected]:
    out: list[Article | Rejected] = []
    for item in items:
        out.extend(logic.parse_item(item, NOW, cfg) if isinstance(item, InboxItem) else [item])
    return out


def run(body: Callable[[LocalServer, Fetcher], Awaitable[None]], cfg: IngestSettings) -> None:
    async def main() -> None:
        async with LocalServer() as srv, Fetcher(cfg) as fetcher:
            await body(srv, fetcher)

    asyncio.run(main())


def test_feed_polls_take_all_then_nothing_then_only_the_new_entry(
    pages: dict[str, tuple[bytes, str]], tmp_path: Path
) -> None:
    cfg = cfg_for(tmp_path)
    keys = list(pages)

    async def body(srv: LocalServer, fetcher: Fetcher) -> None:
        for k, (html, _) in pages.items():
            srv.pages[f"/p/{k}.html"] = Page(html)

        def publish(n: int) -> None:
            items = [(k, f"Story {k[:8]}", srv.url(f"/p/{k}.html")) for k in reversed(keys[:n])]
            srv.pages["/feed.xml"] = Page(rss(items), content_type="application/rss+xml", conditional=True)

        feed = FeedSource([srv.url("/feed.xml")], fetcher, FeedState(cfg.feed_state_path, cfg.feed_seen_max))
        publish(5)

        first = articles(await drain(feed), cfg)
        assert all(isinstance(a, Article) for a in first), first
        assert len(first) == 5
        for a, k in zip(first, keys[:5], strict=True):  # oldest entry first
            assert isinstance(a, Article)
            assert a.source == srv.url(f"/p/{k}.html")
            assert pages[k][1].split()[0] in a.body

        assert await drain(feed) == []  # 304: nothing parsed, nothing taken
        assert srv.requests_to("/feed.xml")[-1].headers.get("If-None-Match")

        publish(6)
        third = articles(await drain(feed), cfg)
        assert [a.source for a in third if isinstance(a, Article)] == [srv.url(f"/p/{keys[5]}.html")]
        assert await drain(feed) == []
        assert len([s for s in srv.seen if s.path.startswith("/p/")]) == 6  # every page fetched once

    run(body, cfg)


def test_feed_state_survives_a_restart(pages: dict[str, tuple[bytes, str]], tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path)

    async def body(srv: LocalServer, fetcher: Fetcher) -> None:
        k = next(iter(pages))
        srv.pages[f"/p/{k}.html"] = Page(pages[k][0])
        srv.pages["/feed.xml"] = Page(
            rss([(k, "One", srv.url(f"/p/{k}.html"))]), content_type="application/rss+xml"
        )
        state = FeedState(cfg.feed_state_path, cfg.feed_seen_max)
        assert len(await drain(FeedSource([srv.url("/feed.xml")], fetcher, state))) == 1
        # A new process (new FeedSource, same state file), and a server without ETags: the seen list decides.
        again = FeedSource([srv.url("/feed.xml")], fetcher, FeedState(cfg.feed_state_path, cfg.feed_seen_max))
        assert await drain(again) == []

    run(body, cfg)


def test_an_entry_whose_page_is_gone_falls_back_to_the_feed_text(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path)

    async def body(srv: LocalServer, fetcher: Fetcher) -> None:
        srv.pages["/feed.xml"] = Page(
            rss([("g1", "Gone story", srv.url("/missing.html"))]), content_type="application/rss+xml"
        )
        items = await drain(
            FeedSource([srv.url("/feed.xml")], fetcher, FeedState(cfg.feed_state_path, cfg.feed_seen_max))
        )
        (article,) = articles(items, cfg)
        assert isinstance(article, Article)
        assert article.title == "Gone story" and article.body == "Summary of Gone story"

    run(body, cfg)


def test_an_entry_whose_page_fails_transiently_is_retried_on_the_next_poll(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path)

    async def body(srv: LocalServer, fetcher: Fetcher) -> None:
        srv.pages["/feed.xml"] = Page(
            rss([("g1", "Flaky", srv.url("/flaky.html"))]),
            content_type="application/rss+xml",
            conditional=True,
        )
        srv.pages["/flaky.html"] = Page(b"busy", status=503)
        feed = FeedSource([srv.url("/feed.xml")], fetcher, FeedState(cfg.feed_state_path, cfg.feed_seen_max))
        (first,) = await drain(feed)
        assert isinstance(first, Rejected) and first.reason == "http-503"
        srv.pages["/flaky.html"] = Page(
            b"<html><body><article>" + b"<p>Back up and running now. </p>" * 30 + b"</article></body></html>"
        )
        (second,) = await drain(feed)
        assert isinstance(second, InboxItem) and b"Back up" in base64.b64decode(second.content_b64)

    run(body, cfg)


def test_a_feed_that_is_not_a_feed_is_a_rejection(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path)

    async def body(srv: LocalServer, fetcher: Fetcher) -> None:
        srv.pages["/feed.xml"] = Page(b"\x00\x01 not xml at all <<<", content_type="application/rss+xml")
        (got,) = await drain(
            FeedSource([srv.url("/feed.xml")], fetcher, FeedState(cfg.feed_state_path, cfg.feed_seen_max))
        )
        assert isinstance(got, Rejected) and got.reason == "invalid-feed"

    run(body, cfg)


def test_a_url_source_hands_over_the_page_and_its_final_url(
    pages: dict[str, tuple[bytes, str]], tmp_path: Path
) -> None:
    cfg = cfg_for(tmp_path)

    async def body(srv: LocalServer, fetcher: Fetcher) -> None:
        k = next(iter(pages))
        srv.pages["/story"] = Page(pages[k][0])
        srv.pages["/short"] = Page(b"", status=302, headers={"Location": "/story"})
        (item,) = await drain(UrlSource([srv.url("/short")], fetcher))
        assert isinstance(item, InboxItem) and item.url == srv.url("/story") and item.kind == "html"
        (article,) = logic.parse_item(item, NOW, cfg)
        assert isinstance(article, Article) and pages[k][1].split()[0] in article.body

    run(body, cfg)
