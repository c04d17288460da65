"""Dedupe worker: raw articles -> unique articles, or duplicates recorded against the first arrival."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import faust
from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch import ConnectionTimeout as ESConnectionTimeout

from services.common import metrics
from services.common.es import async_client
from services.common.records import Article, DuplicateArticle, Rejected, decode, utcnow
from services.common.settings import Settings
from services.common.worker import Stream, make_app
from services.dedupe import logic
from services.dedupe.store import ElasticClaimStore, StoreUnavailable

log = logging.getLogger(__name__)


def build(settings: Settings) -> faust.App:
    app = make_app("dedupe", settings)
    s = Stream(app, "dedupe", settings)
    store = ElasticClaimStore(async_client(settings.es), settings.es.dedupe_index)

    @app.task
    async def prepare() -> None:
        await store.ensure_index()

    async def claim_until_answered(claims: list[logic.Claim]) -> dict[str, logic.Owner]:
        delay = 0.5
        while True:
            try:
                return await store.claim(claims)
            except (ESConnectionError, ESConnectionTimeout, StoreUnavailable) as exc:
                metrics.SEARCH_UP.set(0)
                log.warning("dedupe store unavailable, pausing error=%s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    @app.agent(s.topic("raw"), concurrency=1)
    async def dedupe(stream: faust.StreamT) -> None:
        async for events in stream.take_events(200, within=0.2):  # type: ignore[attr-defined]
            with s.timed() as timer:
                good: list[tuple[faust.EventT, Article]] = []
                for event in events:
                    s.seen(event)
                    art = decode(Article, event.value)
                    if isinstance(art, Rejected):
                        await s.dead_letter(event, art)
                    else:
                        good.append((event, art))
                claims = {id(a): logic.claims_for(a) for _, a in good}
                owners = await claim_until_answered([c for cs in claims.values() for c in cs])
                now = utcnow()
                for _event, art in good:
                    verdict = logic.decide(art, claims[id(art)], owners, now)
                    if isinstance(verdict, DuplicateArticle):
                        await s.send("duplicates", verdict.original_id, verdict.to_json())
                        metrics.DUPLICATES.labels(verdict.duplicate.kind).inc()
                        s.outcome(True, "duplicate")
                    else:
                        await s.send("unique", verdict.id, verdict.to_json())
                        s.outcome(True, "ok")
                timer.per_message(len(events))

    @app.timer(3600.0)
    async def expire() -> None:
        try:
            n = await store.expire(utcnow() - timedelta(days=settings.dedupe.window_days))
            log.info("dedupe state expired entries=%d window_days=%d", n, settings.dedupe.window_days)
        except Exception as exc:  # expiry is housekeeping; the next run tries again
            log.warning("dedupe expiry failed error=%s", exc)

    @app.timer(5.0)
    async def lag() -> None:
        s.update_lag()

    return app
