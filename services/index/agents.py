"""Index worker, declared: enriched articles and duplicates -> Elasticsearch (bulk), then an ack on the indexed
topic for each document written or duplicate recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import faust

from services.common import metrics
from services.common.es import async_client, search_calls
from services.common.records import DuplicateArticle, EnrichedArticle, IndexedAck, Rejected, utcnow
from services.common.runner import Batch, Route, StepResult, Worker
from services.common.settings import Settings
from services.common.worker import serve
from services.index import logic
from services.index.template import prepare_index
from services.index.writer import BulkWriter

Indexable = EnrichedArticle | DuplicateArticle


def observe_freshness(item: Indexable, now: float) -> None:
    if isinstance(item, EnrichedArticle):
        metrics.FRESHNESS_SECONDS.labels("ingested").observe(now - item.ingested_at.timestamp())
        if item.published_at:
            metrics.FRESHNESS_SECONDS.labels("published").observe(
                max(0.0, now - item.published_at.timestamp())
            )


def worker(settings: Settings) -> Worker[Indexable]:
    cfg = settings.index
    for result in ("created", "updated", "noop", "retried", "conflict", "failed"):
        metrics.BULK_ITEMS.labels(result)
    metrics.SEARCH_UP.set(1)
    writer = BulkWriter(async_client(settings.es), settings.es.alias, cfg, clock=utcnow)

    async def prepare() -> None:
        # In a thread: the web server (health, metrics) and the group membership stay alive meanwhile.
        with search_calls():
            await asyncio.to_thread(prepare_index, settings.es)

    async def step(items: Sequence[Indexable]) -> list[StepResult]:
        articles = [i for i in items if isinstance(i, EnrichedArticle)]
        dups = [i for i in items if isinstance(i, DuplicateArticle)]
        result = await writer.write(articles, dups)
        now = utcnow()
        out: dict[int, StepResult] = {}
        for item in result.ok:
            out[id(item)] = [logic.ack_for(item, now)]
            observe_freshness(item, now.timestamp())
        for f in result.failed:
            out[id(f.item)] = [Rejected(reason=f.reason, detail=f.detail, trace=f.item.trace)]
        return [out[id(i)] for i in items]  # every item is either written or failed: a KeyError is a bug

    async def probe_search() -> None:
        """Keep newsflow_search_up true to the server even while no bulk is in flight."""
        try:
            up = await writer.es.ping()
        except Exception:  # ping reports, it never crashes the worker
            up = False
        metrics.SEARCH_UP.set(1 if up else 0)

    async def close() -> None:
        await writer.es.close()

    return Worker(
        stage="index",
        sources={"enriched": EnrichedArticle, "duplicates": DuplicateArticle},
        step=step,
        routes={IndexedAck: Route("indexed", key=lambda a: a.original_id)},
        batch=Batch(max_items=cfg.batch_size, max_wait_s=cfg.batch_wait_s),
        prepare=prepare,
        timers=[(5.0, probe_search)],
        on_stop=[close],
    )


def build(settings: Settings) -> faust.App:
    return serve(worker(settings), settings)
