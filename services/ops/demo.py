"""``newsflow demo``: run the whole pipeline on some files and report what the index holds."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from services.common.es import sync_client
from services.common.kafka import producer
from services.common.records import InboxItem
from services.common.settings import Settings
from services.common.topics import STAGES
from services.ingest.reader import Refusals, read_items
from services.ingest.submit import send
from services.ops import snapshot
from services.ops.init import init, settings_for
from services.ops.supervisor import running_supervisor, start_servers
from services.ops.tracking import Tracker

log = logging.getLogger(__name__)
MAX_RESTARTS = 3  # per stage, before the demo gives up


def top_entities(es: Elasticsearch, settings: Settings, size: int = 20) -> list[dict[str, Any]]:
    """Entities by number of indexed documents that mention them: a terms aggregation on the canonical id; the
    name and type come from the entity as stored in one of those documents."""
    resp = es.search(
        index=settings.es.alias,
        size=0,
        query={"bool": {"filter": [{"term": {"pending": False}}]}},
        aggs={
            "ids": {
                "terms": {"field": "entity_ids", "size": size},
                "aggs": {"doc": {"top_hits": {"size": 1, "_source": ["entities"]}}},
            }
        },
    )
    out = []
    for b in resp["aggregations"]["ids"]["buckets"]:
        hits = b["doc"]["hits"]["hits"]
        ents = hits[0]["_source"].get("entities") or [] if hits else []
        e: dict[str, Any] = next((x for x in ents if x.get("id") == b["key"]), {})
        out.append(
            {
                "id": b["key"],
                "name": e.get("name", b["key"]),
                "type": e.get("type", ""),
                "documents": b["doc_count"],
            }
        )
    return out


def events_of(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the indexed documents, largest first: each with its articles (copies are not articles:
    they are recorded on their original), oldest first."""
    by_event: dict[str, list[dict[str, Any]]] = {}
    for d in documents:
        by_event.setdefault(d.get("event_id") or "", []).append(d)
    out = []
    for event_id, docs in by_event.items():
        docs = sorted(docs, key=lambda d: (d.get("published_at") or "", d.get("source") or ""))
        out.append(
            {
                "event_id": event_id,
                "articles": len(docs),
                "copies": sum(len(d.get("duplicates") or []) for d in docs),
                "sources": [d.get("source") for d in docs],
                "first_title": docs[0].get("title") or docs[0].get("snippet") or "",
            }
        )
    return sorted(out, key=lambda e: (-e["articles"], e["event_id"]))


def read_documents(es: Elasticsearch, settings: Settings) -> list[dict[str, Any]]:
    es.indices.refresh(index=settings.es.alias)
    resp = es.search(
        index=settings.es.alias,
        size=10000,
        query={"bool": {"filter": [{"term": {"pending": False}}]}},
        sort=[{"source": "asc"}, {"id": "asc"}],
    )
    docs = []
    for hit in resp["hits"]["hits"]:
        src = hit["_source"]
        docs.append(
            {
                "id": src["id"],
                "source": src.get("source"),
                "title": src.get("title", ""),
                "snippet": " ".join((src.get("body") or "").split()[:16]),
                "published_at": _z(src.get("published_at")),
                "language": src.get("language"),
                "event_id": src.get("event_id"),
                "url": src.get("url"),
                "outlet": src.get("outlet"),
                "duplicates": [
                    {
                        "source": d.get("source"),
                        "kind": d.get("kind"),
                        "similarity": d.get("similarity"),
                        "url": d.get("url"),
                        "seen_at": d.get("seen_at"),
                    }
                    for d in src.get("duplicates") or []
                ],
                "entities": [
                    {k: e.get(k) for k in ("id", "name", "type", "mentions", "aliases")}
                    for e in src.get("entities") or []
                ],
            }
        )
    return docs


def _z(value: str | None) -> str | None:
    if not value:
        return None
    return value.replace("+00:00", "Z")


def run(
    settings: Settings,
    paths: list[str],
    timeout_s: float = 600.0,
    progress: bool = False,
    keep: bool = False,
) -> dict[str, Any]:
    """Start servers and workers, ingest ``paths``, wait for every record to end, report from the index.

    With ``keep`` the embedded search server starts from the data dir's snapshot (the one `newsflow up` keeps)
    and a snapshot is written at the end, so the report covers what the data dir held before as well."""
    data = Path(settings.data_dir)
    keep = keep and not settings.es.url
    snap: snapshot.Snapshot | None = None
    if keep:
        if running_supervisor(settings):
            raise RuntimeError(
                f"`newsflow up` runs with the data dir {data}: stop it first (or ingest into it)"
            )
        snap = snapshot.load(data)  # SnapshotError names a damaged file
    running = start_servers(settings, seeds=snap.parts if snap else [])
    try:
        cfg = settings_for(settings, running)
        init(cfg)
        for stage in STAGES:
            running.start_worker(stage)
        tracker = Tracker(cfg)
        prod = producer(cfg.kafka)
        t0 = time.monotonic()
        n_inputs = 0
        refusals = Refusals()  # a file that cannot be read is reported on stderr and dead-lettered
        for item in read_items(paths, cfg.ingest, refusals):
            if isinstance(item, InboxItem):
                tracker.expect(item.ingest_id)
            else:
                assert item.trace is not None  # the reader names the refused file in the trace
                tracker.expect(item.trace.ingest_id)
            send(cfg, prod, item)
            n_inputs += 1
        prod.flush()
        prod.close()

        def show(t: Tracker) -> None:
            # a worker that exits is restarted, as `newsflow up` does, and counted in the report; one that
            # keeps dying ends the demo
            for w in running.restart_exited():
                if running.restarts[w.stage] > MAX_RESTARTS:
                    raise RuntimeError(f"worker {w.stage} keeps exiting; see {w.log_path}")
            if progress:
                print(
                    f"\r{len(t.expected) - len(t.pending())}/{len(t.expected)} inputs done",
                    end="",
                    file=sys.stderr,
                )

        finished = tracker.wait(timeout_s, on_progress=show)
        if progress:
            print(file=sys.stderr)
        if not finished:
            raise TimeoutError(
                f"{len(tracker.pending())} of {n_inputs} inputs not indexed or dead-lettered after "
                f"{timeout_s}s; worker logs in {running.log_dir}"
            )
        elapsed = time.monotonic() - t0
        tracker.close()
        es = sync_client(cfg.es)
        try:
            documents = read_documents(es, cfg)
            top = top_entities(es, cfg)
        finally:
            es.close()
        restarts = {stage: running.restarts.get(stage, 0) for stage in STAGES}
        if keep:
            es = sync_client(cfg.es)
            try:
                snapshot.take(es, data)
            finally:
                es.close()
        return {
            "articles_in": tracker.records_in(),
            "indexed": len(documents),
            "dead_lettered": len(tracker.dead),
            "dead_letters": [
                {
                    "source": d.trace.source if d.trace else None,
                    "stage": d.stage,
                    "reason": d.reason,
                    "detail": d.detail,
                }
                for d in sorted(
                    tracker.dead,
                    key=lambda d: (d.trace.source if d.trace else "", d.trace.record if d.trace else 0),
                )
            ],
            "duplicates_recorded": sum(1 for a in tracker.acks if a.kind == "duplicate"),
            "documents": documents,
            "events": events_of(documents),
            "top_entities": top,
            "seconds": round(elapsed, 3),
            "worker_restarts": restarts,
        }
    finally:
        running.stop()
