"""Ingest worker: inbox items (files, fetched pages, feed entries) -> raw articles; and the HTTP push API,
whose accepted records go straight to the raw topic (answered 202 only once Kafka acknowledged them)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from aiohttp import web

from services.common import metrics
from services.common.records import Article, InboxItem, Rejected, decode, utcnow
from services.common.settings import Settings
from services.common.worker import Stream, make_app
from services.ingest import logic
from services.ingest.language import detector
from services.ingest.push import make_push_app

log = logging.getLogger(__name__)


def build(settings: Settings) -> faust.App:
    app = make_app("ingest", settings)
    s = Stream(app, "ingest", settings, guard=False)
    detector(settings.ingest.languages)  # load the language models (~2 s) now, not on the first article

    @app.agent(s.topic("inbox"), concurrency=1)
    async def ingest(stream: faust.StreamT) -> None:
        async for event in stream.events():
            s.seen(event)
            with s.timed() as timer:
                item = decode(InboxItem, event.value)
                if isinstance(item, Rejected):
                    await s.dead_letter(event, item)
                    continue
                for result in logic.parse_item(item, utcnow(), settings.ingest):
                    if isinstance(result, Rejected):
                        await s.dead_letter(event, result)
                    else:
                        await s.send("raw", result.id, result.to_json())
                        s.outcome(True, "ok")
                timer.per_message(1)

    async def publish(articles: list[Article]) -> None:
        raw = s.topic("raw")
        pending = [await raw.send(key=a.id.encode(), value=a.to_json()) for a in articles]
        await asyncio.gather(*pending)  # acknowledged by Kafka before the client hears 202
        metrics.MESSAGES.labels("ingest", "ok").inc(len(articles))

    push_runner: list[web.AppRunner] = []

    @app.task
    async def serve_push() -> None:
        cfg = settings.ingest
        if not cfg.push_enabled:
            return
        runner = web.AppRunner(make_push_app(publish, cfg))
        await runner.setup()
        site = web.TCPSite(runner, cfg.push_host, cfg.push_port)
        await site.start()
        push_runner.append(runner)
        log.info(
            "push API listening host=%s port=%s token=%s",
            cfg.push_host,
            cfg.push_port,
            "required" if cfg.push_token else "off",
        )

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_push(app_: faust.App, **kw: Any) -> None:
        for runner in push_runner:
            await runner.cleanup()

    @app.timer(5.0)
    async def lag() -> None:
        s.update_lag()

    return app
