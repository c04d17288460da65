"""Ingest worker, declared: inbox items (files, fetched pages, feed entries) -> raw articles; and the HTTP push
API, whose accepted records go straight to the raw topic (answered 202 only once Kafka acknowledged them)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import faust

from services.common import metrics
from services.common.records import Article, InboxItem, utcnow
from services.common.runner import Batch, Route, Runtime, StepResult, Worker
from services.common.settings import Settings
from services.common.worker import serve
from services.ingest import logic
from services.ingest.language import detector
from services.ingest.push import PushServer, start_push

log = logging.getLogger(__name__)


def worker(settings: Settings) -> Worker[InboxItem]:
    cfg = settings.ingest
    detector(cfg.languages)  # load the language models (~2 s) now, not on the first article
    push_servers: list[PushServer] = []

    def parse(items: Sequence[InboxItem]) -> list[StepResult]:
        return [list(logic.parse_item(item, utcnow(), cfg)) for item in items]

    async def step(items: Sequence[InboxItem]) -> list[StepResult]:
        # In a thread: a large file takes a while to parse, and the loop serves the push API and heartbeats.
        return await asyncio.to_thread(parse, items)

    async def serve_push(runtime: Runtime) -> None:
        if not cfg.push_enabled:
            return

        async def publish(articles: list[Article]) -> None:
            await runtime.publish("raw", [(a.id, a) for a in articles])  # acknowledged before the 202
            metrics.MESSAGES.labels("ingest", "ok").inc(len(articles))

        server = await start_push(publish, cfg)  # every limit of the settings, the connection cap included
        push_servers.append(server)
        log.info(
            "push API listening host=%s port=%s token=%s",
            cfg.push_host,
            server.port,
            "required" if cfg.push_token else "off",
        )

    async def stop_push() -> None:
        for server in push_servers:
            await server.close()

    return Worker(
        stage="ingest",
        sources={"inbox": InboxItem},
        step=step,
        routes={Article: Route("raw", key=lambda a: a.id)},
        batch=Batch(max_items=16, max_wait_s=0.02),
        guard=False,  # bad input here is the user's, not a sign of a bad deploy
        tasks=[serve_push],
        on_stop=[stop_push],
    )


def build(settings: Settings) -> faust.App:
    return serve(worker(settings), settings)
