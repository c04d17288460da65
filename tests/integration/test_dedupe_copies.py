"""One wire story copied 5,000 times: the document keeps the first sources and exact counts, the sources index the
full list, and recording a copy costs the same at the end as at the start (issue 16 item 6)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest

from services.common.es import async_client, sync_client
from services.common.records import DuplicateArticle, DuplicateRef, EnrichedArticle, Trace
from services.common.settings import ElasticSettings
from services.common.settings.index import IndexSettings
from services.index import logic
from services.index.template import ensure_write_alias, install_template
from services.index.writer import BulkWriter
from services.ops.embedded import Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

NOW = datetime(2024, 5, 1, tzinfo=UTC)
COPIES = 5000
BATCH = 500
OUTLETS = ["wire.example", "www.daily.example", "gazette.example", "post.example", "ledger.example"]
KINDS = ["exact", "near", "near", "rewrite"]


def original() -> EnrichedArticle:
    return EnrichedArticle(
        id="story",
        trace=Trace(ingest_id="orig", source="wire.txt"),
        source="wire.txt",
        body="The wire story. " * 200,
        event_id="e",
        content_hash="h",
        ingested_at=NOW,
    )


def copy(i: int) -> DuplicateArticle:
    key = f"c{i:05d}:0"
    ref = DuplicateRef(
        source=f"copy-{i}",
        url=f"https://{OUTLETS[i % len(OUTLETS)]}/story-{i}",
        kind=KINDS[i % len(KINDS)],  # type: ignore[arg-type]
        similarity=0.9,
        seen_at=NOW,
        article_id=f"copy-{i}",
        ingest_key=key,
    )
    return DuplicateArticle(
        original_id="story",
        event_id="e",
        duplicate=ref,
        trace=Trace(ingest_id=f"c{i:05d}", source=f"copy-{i}"),
        ingested_at=NOW,
    )


def test_a_story_copied_5000_times_keeps_the_first_sources_and_exact_counts(stack: Stack) -> None:
    prefix = "c" + uuid.uuid4().hex[:8]
    cfg = ElasticSettings(url=stack.search.url, compat="osmem", alias=prefix, index_prefix=prefix)
    es = sync_client(cfg)
    install_template(es, cfg)
    ensure_write_alias(es, cfg)
    copies = [copy(i) for i in range(COPIES)]
    seconds: list[float] = []

    class Crash(Exception):
        pass

    async def run() -> None:
        aes = async_client(cfg)
        try:
            w = BulkWriter(aes, cfg.alias, IndexSettings(), clock=lambda: NOW)
            got = await w.write([original()], [])
            assert not got.failed
            for start in range(0, COPIES, BATCH):
                t0 = time.perf_counter()
                got = await w.write([], copies[start : start + BATCH])
                seconds.append(time.perf_counter() - t0)
                assert not got.failed and len(got.ok) == BATCH
            # redelivered batches (an index worker restarted before committing): counted once
            for start in (0, COPIES - BATCH):
                got = await w.write([], copies[start : start + BATCH])
                assert not got.failed
            # a crash after the counts were written but before the copies were listed, then the redelivery
            extra = [copy(COPIES + i) for i in range(10)]
            listing = w._list_sources

            async def crash(dups: list[DuplicateArticle]) -> object:
                raise Crash

            w._list_sources = crash  # type: ignore[method-assign,assignment]
            with pytest.raises(Crash):
                await w.write([], extra)
            w._list_sources = listing  # type: ignore[method-assign]
            got = await w.write([], extra)
            assert not got.failed
        finally:
            await aes.close()

    try:
        asyncio.run(run())
        es.indices.refresh(index=[cfg.alias, logic.sources_index(cfg.alias)])
        doc = es.get(index=cfg.alias, id="story")["_source"]
        total = COPIES + 10
        assert doc["duplicate_count"] == total
        assert [d["ingest_key"] for d in doc["duplicates"]] == [
            f"c{i:05d}:0" for i in range(logic.DUPLICATES_KEPT)
        ]
        assert doc["duplicate_kinds"] == {
            k: sum(1 for i in range(total) if KINDS[i % len(KINDS)] == k)
            for k in ("exact", "near", "rewrite")
        }
        outlets = {o["outlet"]: o["count"] for o in doc["duplicate_outlets"]}
        assert outlets == {
            o.removeprefix("www."): sum(1 for i in range(total) if OUTLETS[i % len(OUTLETS)] == o)
            for o in OUTLETS
        }
        assert es.count(index=logic.sources_index(cfg.alias))["count"] == total
        assert doc["body"] == original().body and doc["pending"] is False
        first, last = sum(seconds[:2]) / 2, sum(seconds[-2:]) / 2
        print(f"recording {BATCH} copies: {first:.3f} s at the start, {last:.3f} s after {COPIES - BATCH}")
    finally:
        es.options(ignore_status=404).indices.delete(index=logic.sources_index(cfg.alias))
        es.close()
