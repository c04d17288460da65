"""Index worker: enriched articles and duplicates -> Elasticsearch (bulk), then an ack on the indexed topic."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust
from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch import ConnectionTimeout as ESConnectionTimeout

from services.common import metrics
from services.common.es import async_client, sync_client
from services.common.records import (
    DuplicateArticle,
    EnrichedArticle,
    IndexedAck,
    Record,
    Rejected,
    decode,
    utcnow,
)
from services.common.settings import Settings
from services.common.worker import Stream, make_app
from services.index.template import ensure_write_alias, install_template
from services.index.writer import BulkWriter

log = logging.getLogger(__name__)


def prepare_index(settings: Settings) -> None:
    """Template and write alias before the first write (else the first bulk would create an index with
    dynamic mappings). Waits for an unreachable search server instead of crashing the worker."""
    delay = 0.5
    while True:
        es_sync = sync_client(settings.es)
        try:
            install_template(es_sync, settings.es)
            ensure_write_alias(es_sync, settings.es)
            return
        except (ESConnectionError, ESConnectionTimeout) as exc:
            metrics.SEARCH_UP.set(0)
            log.warning("search server unreachable at start, waiting error=%s", exc)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
        finally:
            es_sync.close()


def build(settings: Settings) -> faust.App:
    app = make_app("index", settings)
    s = Stream(app, "index", settings)
    cfg = settings.index
    prepared = asyncio.Event()

    @app.task
    async def prepare() -> None:
        # In a thread: the web server (health, metrics) and the group membership stay alive meanwhile.
        await asyncio.to_thread(prepare_index, settings)
        prepared.set()

    for result in ("created", "updated", "noop", "retried", "conflict", "failed"):
        metrics.BULK_ITEMS.labels(result)
    metrics.SEARCH_UP.set(1)
    writer = BulkWriter(async_client(settings.es), settings.es.alias, cfg, clock=utcnow)
    source = app.topic(
        s.names.enriched,
        s.names.duplicates,
        value_type=bytes,
        key_type=bytes,
        value_serializer="raw",
        key_serializer="raw",
    )

    @app.agent(source, concurrency=1)
    async def index(stream: faust.StreamT) -> None:
        await prepared.wait()
        async for events in stream.take_events(cfg.batch_size, within=cfg.batch_wait_s):  # type: ignore[attr-defined]
            with s.timed() as timer:
                articles: list[EnrichedArticle] = []
                dups: list[DuplicateArticle] = []
                event_of: dict[int, faust.EventT] = {}
                for event in events:
                    s.seen(event)
                    rec: Record | Rejected
                    if event.message.topic == s.names.duplicates:
                        rec = decode(DuplicateArticle, event.value)
                    else:
                        rec = decode(EnrichedArticle, event.value)
                    if isinstance(rec, Rejected):
                        await s.dead_letter(event, rec)
                        continue
                    event_of[id(rec)] = event
                    if isinstance(rec, DuplicateArticle):
                        dups.append(rec)
                    else:
                        articles.append(rec)  # type: ignore[arg-type]
                result = await writer.write(articles, dups)
                now = utcnow()
                for item in result.ok:
                    if isinstance(item, DuplicateArticle):
                        ack = IndexedAck(
                            article_id=item.duplicate.article_id,
                            kind="duplicate",
                            original_id=item.original_id,
                            trace=item.trace,
                            ingested_at=item.ingested_at,
                            indexed_at=now,
                        )
                    else:
                        ack = IndexedAck(
                            article_id=item.id,
                            kind="document",
                            original_id=item.id,
                            trace=item.trace,
                            ingested_at=item.ingested_at,
                            indexed_at=now,
                        )
                        metrics.FRESHNESS_SECONDS.labels("ingested").observe(
                            (now - item.ingested_at).total_seconds()
                        )
                        if item.published_at:
                            metrics.FRESHNESS_SECONDS.labels("published").observe(
                                max(0.0, (now - item.published_at).total_seconds())
                            )
                    await s.send("indexed", ack.original_id, ack.to_json())
                    s.outcome(True, "ok")
                for failure in result.failed:
                    trace = failure.item.trace
                    await s.dead_letter(
                        event_of[id(failure.item)],
                        Rejected(reason=failure.reason, detail=failure.detail, trace=trace),
                    )
                timer.per_message(len(events))

    @app.timer(5.0)
    async def lag() -> None:
        s.update_lag()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def close_client(app_: faust.App, **kw: Any) -> None:
        await writer.es.close()

    @app.timer(5.0)
    async def probe_search() -> None:
        """Keep newsflow_search_up true to the server even while no bulk is in flight."""
        try:
            up = await writer.es.ping()
        except Exception:  # ping reports, it never crashes the worker
            up = False
        metrics.SEARCH_UP.set(1 if up else 0)

    return app
