"""Index worker: enriched articles and duplicates -> Elasticsearch (bulk), then an ack on the indexed topic."""

from __future__ import annotations

import faust

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


def build(settings: Settings) -> faust.App:
    app = make_app("index", settings)
    s = Stream(app, "index", settings)
    cfg = settings.index
    es_sync = sync_client(settings.es)
    install_template(es_sync, settings.es)
    ensure_write_alias(es_sync, settings.es)
    es_sync.close()
    for result in ("created", "updated", "noop", "retried", "conflict", "failed"):
        metrics.BULK_ITEMS.labels(result)
    metrics.SEARCH_UP.set(1)
    writer = BulkWriter(async_client(settings.es), settings.es.alias, cfg, clock=utcnow)
    source = app.topic(s.names.enriched, s.names.duplicates, value_type=bytes, key_type=bytes,
                       value_serializer="raw", key_serializer="raw")

    @app.agent(source, concurrency=1)
    async def index(stream: faust.StreamT) -> None:
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
                        ack = IndexedAck(article_id=item.duplicate.article_id, kind="duplicate",
                                         original_id=item.original_id, trace=item.trace,
                                         ingested_at=item.ingested_at, indexed_at=now)
                    else:
                        ack = IndexedAck(article_id=item.id, kind="document", original_id=item.id,
                                         trace=item.trace, ingested_at=item.ingested_at, indexed_at=now)
                        metrics.FRESHNESS_SECONDS.labels("ingested").observe(
                            (now - item.ingested_at).total_seconds())
                        if item.published_at:
                            metrics.FRESHNESS_SECONDS.labels("published").observe(
                                max(0.0, (now - item.published_at).total_seconds()))
                    await s.send("indexed", ack.original_id, ack.to_json())
                    s.outcome(True, "ok")
                for failure in result.failed:
                    trace = failure.item.trace
                    await s.dead_letter(event_of[id(failure.item)],
                                        Rejected(reason=failure.reason, detail=failure.detail, trace=trace))
                timer.per_message(len(events))

    @app.timer(5.0)
    async def lag() -> None:
        s.update_lag()

    return app
