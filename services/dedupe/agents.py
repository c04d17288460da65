"""Dedupe worker, declared: raw articles -> unique articles, or duplicates recorded against their original.

Any number of these workers may consume the raw topic: they share their state in the dedupe index of the search
server (see ``services.dedupe.engine`` for the protocol), so a copy is caught whichever partition it lands on, and
nothing is kept in faust Tables. A failed batch is run again whole: it is idempotent (signatures are rewritten
as they were, decisions already made are read back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

import faust

from services.common import metrics
from services.common.es import async_client, search_calls
from services.common.records import Article, DuplicateArticle, UniqueArticle, utcnow
from services.common.runner import Batch, Route, StepResult, Transient, Worker
from services.common.settings import Settings
from services.common.worker import serve
from services.dedupe import offline
from services.dedupe.balance import WorkBalancer, ner_weight
from services.dedupe.engine import Deduper
from services.dedupe.store import ElasticStore, StoreUnavailable

log = logging.getLogger(__name__)


def count_duplicate(dup: DuplicateArticle) -> None:
    metrics.DUPLICATES.labels(dup.duplicate.kind).inc()


def worker(settings: Settings) -> Worker[Article]:
    cfg = settings.dedupe
    store = ElasticStore(async_client(settings.es), settings.es.dedupe_index, cfg)
    deduper = Deduper(store, cfg)
    # Unique articles go to the enrich partition with the least NER work so far (see services.dedupe.balance).
    balancer = WorkBalancer()

    async def prepare() -> None:
        await asyncio.to_thread(offline.warm)  # compiled loops ready before the first batch
        with search_calls():
            await store.ensure_index()

    async def step(articles: Sequence[Article]) -> list[StepResult]:
        try:
            with search_calls():
                outcomes = await deduper.process(list(articles), utcnow())
        except StoreUnavailable as exc:  # part of a store request failed: the whole batch is tried again
            raise Transient("search", str(exc)) from exc
        return [[o.result] for o in outcomes]

    def partition(article: UniqueArticle, partitions: frozenset[int]) -> int | None:
        return (
            balancer.pick(partitions, ner_weight(article.body, settings.enrich.max_chars))
            if partitions
            else None
        )

    async def expire() -> None:
        n = await store.expire(utcnow() - timedelta(days=cfg.window_days))
        log.info("dedupe state expired entries=%d window_days=%d", n, cfg.window_days)

    async def close() -> None:
        await store.es.close()

    return Worker(
        stage="dedupe",
        sources={"raw": Article},
        step=step,
        routes={
            UniqueArticle: Route("unique", key=lambda a: a.id, partition=partition),
            DuplicateArticle: Route(
                "duplicates", key=lambda d: d.original_id, outcome="duplicate", observe=count_duplicate
            ),
        },
        batch=Batch(max_items=cfg.batch_size, max_wait_s=cfg.batch_wait_s),
        prepare=prepare,
        timers=[(3600.0, expire)],
        on_stop=[close],
    )


def build(settings: Settings) -> faust.App:
    return serve(worker(settings), settings)
