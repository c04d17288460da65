"""Dedupe worker: raw articles -> unique articles, or duplicates recorded against their original.

Any number of these workers may consume the raw topic: they share their state in the dedupe index of the search
server (see ``services.dedupe.engine`` for the protocol), so a copy is caught whichever partition it lands on, and
nothing is kept in faust Tables.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import faust
from elasticsearch import ApiError, TransportError

from services.common import metrics
from services.common.es import async_client
from services.common.records import Article, DuplicateArticle, Rejected, utcnow
from services.common.settings import Settings
from services.common.worker import Stream, make_app
from services.dedupe.balance import WorkBalancer, ner_weight
from services.dedupe.engine import Deduper, Outcome
from services.dedupe.store import ElasticStore, StoreUnavailable

log = logging.getLogger(__name__)


def build(settings: Settings) -> faust.App:
    app = make_app("dedupe", settings)
    s = Stream(app, "dedupe", settings)
    store = ElasticStore(async_client(settings.es), settings.es.dedupe_index, settings.dedupe)
    deduper = Deduper(store, settings.dedupe)
    ready = asyncio.Event()
    # Unique articles go to the enrich partition with the least NER work so far (see services.dedupe.balance).
    balancer = WorkBalancer()

    async def until_answered(articles: Sequence[Article], now: datetime) -> list[Outcome]:
        """The batch's outcomes; while the store fails, wait and run the whole batch again (it is idempotent:
        signatures are rewritten as they were, decisions already made are read back)."""
        delay = 0.5
        while True:
            try:
                if not ready.is_set():
                    await store.ensure_index()
                    ready.set()
                out = await deduper.process(articles, now)
                metrics.SEARCH_UP.set(1)
                return out
            except (TransportError, StoreUnavailable) as exc:
                error = str(exc)
            except ApiError as exc:
                if exc.meta.status < 500 and exc.meta.status != 429:
                    raise  # a request we built wrong: a bug, crash loudly
                error = str(exc)
            metrics.SEARCH_UP.set(0)
            log.warning(
                "dedupe store unavailable, retrying batch size=%d delay=%.1f error=%s",
                len(articles),
                delay,
                error,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    @app.agent(s.topic("raw"), concurrency=1)
    async def dedupe(stream: faust.StreamT) -> None:
        async for events in stream.take_events(
            settings.dedupe.batch_size, within=settings.dedupe.batch_wait_s
        ):  # type: ignore[attr-defined]
            with s.timed() as timer:
                good = await s.decode_batch(events, Article)
                outcomes = await until_answered([a for _, a in good], utcnow())
                parts = await s.partitions("unique")
                for (event, _art), o in zip(good, outcomes, strict=True):
                    r = o.result
                    if isinstance(r, Rejected):
                        await s.dead_letter(event, r)
                    elif isinstance(r, DuplicateArticle):
                        await s.send("duplicates", r.original_id, r.to_json())
                        metrics.DUPLICATES.labels(r.duplicate.kind).inc()
                        s.outcome(True, "duplicate")
                    else:
                        p = (
                            balancer.pick(parts, ner_weight(r.body, settings.enrich.max_chars))
                            if parts
                            else None
                        )
                        await s.send("unique", r.id, r.to_json(), partition=p)
                        s.outcome(True, "ok")
                timer.per_message(len(events))

    @app.timer(3600.0)
    async def expire() -> None:
        window = settings.dedupe.window_days
        try:
            n = await store.expire(utcnow() - timedelta(days=window))
            log.info("dedupe state expired entries=%d window_days=%d", n, window)
        except Exception as exc:  # expiry is housekeeping; the next run tries again
            log.warning("dedupe expiry failed error=%s", exc)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def close_store(app_: faust.App, **kw: Any) -> None:
        await store.es.close()

    @app.timer(5.0)
    async def lag() -> None:
        s.update_lag()

    return app
