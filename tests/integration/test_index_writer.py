"""The bulk writer against the real search server behind a fault-injecting proxy: every good document indexed
exactly once, every bad one returned for the dead-letter topic, nothing silently dropped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.common.es import async_client, sync_client
from services.common.records import DuplicateArticle, DuplicateRef, EnrichedArticle, Trace
from services.common.runner import retrying
from services.common.settings import ElasticSettings, RetrySettings
from services.common.settings.index import IndexSettings
from services.index.template import ensure_write_alias, install_template
from services.index.writer import BulkWriter
from services.ops.embedded import Stack
from tests.proxy import FaultProxy

pytestmark = pytest.mark.integration
NOW = datetime(2024, 5, 1, tzinfo=UTC)


def art(i: int) -> EnrichedArticle:
    return EnrichedArticle(
        id=f"doc-{i}",
        trace=Trace(ingest_id=f"i{i}", source=f"s{i}.txt"),
        source=f"s{i}.txt",
        body=f"body {i}",
        event_id=f"e{i}",
        content_hash=f"h{i}",
        ingested_at=NOW,
    )


def dup(original: int, key: str) -> DuplicateArticle:
    ref = DuplicateRef(
        source=f"{key}.txt",
        kind="exact",
        similarity=1.0,
        seen_at=NOW,
        article_id=f"doc-{original}",
        ingest_key=key,
    )
    return DuplicateArticle(
        original_id=f"doc-{original}",
        event_id="e",
        duplicate=ref,
        trace=Trace(ingest_id=key, source=f"{key}.txt"),
        ingested_at=NOW,
    )


@pytest.fixture
def env(stack: Stack) -> Iterator[tuple[ElasticSettings, FaultProxy]]:
    prefix = "w" + uuid.uuid4().hex[:8]
    cfg = ElasticSettings(url=stack.search.url, compat="osmem", alias=prefix, index_prefix=prefix)
    es = sync_client(cfg)
    install_template(es, cfg)
    ensure_write_alias(es, cfg)
    es.close()
    proxy = FaultProxy(stack.search.url).start()
    yield cfg, proxy
    proxy.stop()


def run_write(
    cfg: ElasticSettings,
    proxy: FaultProxy,
    arts: list[EnrichedArticle],
    dups: list[DuplicateArticle],
    during: object = None,
    **over: float,
) -> tuple[list[str], list[tuple[str, str]]]:
    icfg = IndexSettings(backoff_base_s=0.01, backoff_max_s=0.05, **over)  # type: ignore[arg-type]
    # As the index worker runs it: a whole request that fails is retried by the runner's one retry policy.
    policy = RetrySettings(base_s=0.05, max_s=0.2)

    async def go() -> tuple[list[str], list[tuple[str, str]]]:
        es = async_client(cfg.model_copy(update={"url": proxy.url, "request_timeout_s": 2.0}))
        w = BulkWriter(es, cfg.alias, icfg, clock=lambda: NOW)
        try:
            task = asyncio.create_task(retrying(lambda: w.write(arts, dups), policy, stage="index"))
            if callable(during):
                await during()
            res = await task
        finally:
            await es.close()
        ok = [getattr(i, "id", None) or i.duplicate.ingest_key for i in res.ok]  # type: ignore[union-attr]
        bad = [(getattr(f.item, "id", None) or f.item.duplicate.ingest_key, f.reason) for f in res.failed]  # type: ignore[union-attr]
        return ok, bad

    return asyncio.run(go())


def docs(cfg: ElasticSettings) -> dict[str, dict]:
    es = sync_client(cfg)
    es.indices.refresh(index=cfg.alias)
    hits = es.search(index=cfg.alias, size=1000)["hits"]["hits"]
    es.close()
    return {h["_id"]: h["_source"] for h in hits}


def test_one_bad_document_among_good_ones_is_dead_lettered_and_the_rest_indexed(env) -> None:  # type: ignore[no-untyped-def]
    cfg, proxy = env
    proxy.item_faults["doc-2"] = [400]
    ok, bad = run_write(cfg, proxy, [art(i) for i in range(5)], [])
    assert sorted(ok) == ["doc-0", "doc-1", "doc-3", "doc-4"]
    assert bad == [("doc-2", "mapping-error")]


def test_429_and_503_items_are_retried_until_indexed_once(env) -> None:  # type: ignore[no-untyped-def]
    cfg, proxy = env
    proxy.item_faults["doc-1"] = [429, 429]
    proxy.item_faults["doc-3"] = [503]
    proxy.fail_requests = [503, 429]
    ok, bad = run_write(cfg, proxy, [art(i) for i in range(5)], [])
    assert sorted(ok) == [f"doc-{i}" for i in range(5)] and bad == []
    assert sorted(docs(cfg)) == [f"doc-{i}" for i in range(5)]


def test_an_item_that_keeps_failing_is_dead_lettered_after_bounded_retries(env) -> None:  # type: ignore[no-untyped-def]
    cfg, proxy = env
    proxy.item_faults["doc-0"] = [503] * 20
    ok, bad = run_write(cfg, proxy, [art(0), art(1)], [], retries=3)
    assert ok == ["doc-1"] and bad == [("doc-0", "retries-exhausted")]


def test_writer_waits_for_an_unreachable_server_and_then_writes_everything(env) -> None:  # type: ignore[no-untyped-def]
    cfg, proxy = env
    proxy.down()

    async def outage() -> None:
        await asyncio.sleep(3.0)
        proxy.up()

    ok, bad = run_write(cfg, proxy, [art(i) for i in range(3)], [], during=outage)
    assert sorted(ok) == ["doc-0", "doc-1", "doc-2"] and bad == []
    assert len(docs(cfg)) == 3


def test_duplicates_are_recorded_on_the_original_once_whatever_the_order(env) -> None:  # type: ignore[no-untyped-def]
    cfg, proxy = env
    # The duplicate arrives before its original: a pending stub holds it until the original's upsert.
    ok, bad = run_write(cfg, proxy, [], [dup(7, "k1")])
    assert ok == ["k1"] and bad == []
    ok, bad = run_write(cfg, proxy, [art(7)], [dup(7, "k1"), dup(7, "k2")])
    assert bad == []
    d = docs(cfg)["doc-7"]
    assert d["pending"] is False and d["body"] == "body 7"
    assert [x["ingest_key"] for x in d["duplicates"]] == ["k1", "k2"] and d["duplicate_count"] == 2
    # Replaying the same original does not wipe what was recorded.
    run_write(cfg, proxy, [art(7)], [])
    assert docs(cfg)["doc-7"]["duplicate_count"] == 2
