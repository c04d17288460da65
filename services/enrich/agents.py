"""Enrich worker: unique articles -> articles with canonical entities (spaCy NER, batched)."""

from __future__ import annotations

import asyncio

import faust

from services.common import metrics
from services.common.records import Rejected, UniqueArticle
from services.common.settings import Settings
from services.common.worker import Stream, make_app
from services.enrich import logic
from services.enrich.model import SpacyNer
from services.enrich.resources import Resources


def build(settings: Settings) -> faust.App:
    app = make_app("enrich", settings)
    s = Stream(app, "enrich", settings)
    cfg = settings.enrich
    ner = SpacyNer(cfg.model, batch_size=cfg.batch_size)
    resources = Resources.load(cfg)  # alias file and gazetteer, once per process

    @app.agent(s.topic("unique"), concurrency=1)
    async def enrich(stream: faust.StreamT) -> None:
        async for events in stream.take_events(cfg.batch_size, within=cfg.batch_wait_s):  # type: ignore[attr-defined]
            with s.timed() as timer:
                good = await s.decode_batch(events, UniqueArticle)
                # In a thread: the event loop keeps fetching the next batch and heartbeating the group while the
                # model runs (a long batch would otherwise stall both).
                results = await asyncio.to_thread(
                    logic.enrich_batch, [a for _, a in good], ner, cfg, resources
                )
                for (event, _), result in zip(good, results, strict=True):
                    if isinstance(result, Rejected):
                        await s.dead_letter(event, result)
                        continue
                    for ent in result.entities:
                        metrics.ENTITIES.labels(ent.type).inc()
                    await s.send("enriched", result.id, result.to_json())
                    s.outcome(True, "ok")
                timer.per_message(len(events))

    @app.timer(5.0)
    async def lag() -> None:
        s.update_lag()

    return app
