"""The bulk writer: reads every item of every bulk response.

- per-item 4xx (mapping errors) -> returned as failures for the dead-letter topic, with the reason;
- per-item 429 and 5xx -> retried with exponential backoff and full jitter, ``index.retries`` times, then
  failures (``retries-exhausted``);
- a whole request that fails (server unreachable, or refused with 429/5xx) -> raised as ``Unavailable`` /
  ``Transient`` (``services.common.es.search_calls``): the step runner runs the whole write again under the one
  retry policy (waiting without limit for an unreachable server, so consumption pauses and nothing is dropped);
  a write is idempotent (``_id`` upserts, duplicates recorded under their ingest key);
- duplicates -> recorded on the original with optimistic concurrency (no scripts), retried on conflict.
Offsets are committed only after ``write`` returned and its acknowledgements were sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch

from services.common import metrics
from services.common.es import search_calls
from services.common.records import DuplicateArticle, EnrichedArticle
from services.common.settings.index import IndexSettings
from services.index import logic

log = logging.getLogger(__name__)

Item = EnrichedArticle | DuplicateArticle


@dataclass
class Failure:
    item: Item
    reason: str
    detail: str


@dataclass
class WriteResult:
    ok: list[Item] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)


SOURCES_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "original_id": {"type": "keyword"},
        "outlet": {"type": "keyword"},
        "source": {"type": "keyword"},
        "url": {"type": "keyword", "index": False},
        "kind": {"type": "keyword"},
        "similarity": {"type": "float"},
        "seen_at": {"type": "date"},
        "article_id": {"type": "keyword"},
        "ingest_key": {"type": "keyword"},
    },
}


def _count_fields() -> dict[str, Any]:
    from services.index.template import mapping_properties

    props = mapping_properties()
    return {k: props[k] for k in ("duplicate_kinds", "duplicate_outlets", "duplicate_last")}


class BulkWriter:
    def __init__(
        self,
        es: AsyncElasticsearch,
        alias: str,
        cfg: IndexSettings,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.es = es
        self.alias = alias
        self.cfg = cfg
        self.clock = clock
        self.sleep = sleep
        self.rand = rand

    async def _bulk(self, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One bulk request (repeated until answered); the result of each item."""
        t0 = time.perf_counter()
        with search_calls():
            resp = await self.es.bulk(operations=operations)
        metrics.BULK_SECONDS.observe(time.perf_counter() - t0)
        items: list[dict[str, Any]] = [next(iter(i.values())) for i in resp["items"]]
        return items

    async def _send(
        self, pairs: list[tuple[Item, list[dict[str, Any]]]]
    ) -> tuple[list[Item], list[Failure], list[Item]]:
        """Send (item, actions) pairs with per-item retries. Returns (ok, failed, conflicted)."""
        ok: list[Item] = []
        failed: list[Failure] = []
        conflicted: list[Item] = []
        pending = [(it, acts) for it, acts in pairs if acts]
        ok.extend(it for it, acts in pairs if not acts)
        attempt = 0
        while pending:
            ops = [op for _, acts in pending for op in acts]
            results = await self._bulk(ops)
            retry: list[tuple[Item, list[dict[str, Any]]]] = []
            for (item, acts), res in zip(pending, results, strict=True):
                status = int(res.get("status", 500))
                outcome = logic.classify(status)
                if outcome == "ok":
                    metrics.BULK_ITEMS.labels(res.get("result", "ok")).inc()
                    ok.append(item)
                elif outcome == "conflict":
                    metrics.BULK_ITEMS.labels("conflict").inc()
                    conflicted.append(item)
                elif outcome == "retry" and attempt < self.cfg.retries:
                    metrics.BULK_ITEMS.labels("retried").inc()
                    retry.append((item, acts))
                else:
                    metrics.BULK_ITEMS.labels("failed").inc()
                    reason = (
                        "retries-exhausted"
                        if outcome == "retry"
                        else logic.reject_reason(status, res.get("error"))
                    )
                    failed.append(Failure(item, reason, f"HTTP {status}: {str(res.get('error'))[:500]}"))
            pending = retry
            if pending:
                await self.sleep(
                    logic.backoff_delay(attempt, self.cfg.backoff_base_s, self.cfg.backoff_max_s, self.rand())
                )
                attempt += 1
        return ok, failed, conflicted

    async def write(
        self, articles: Sequence[EnrichedArticle], duplicates: Sequence[DuplicateArticle]
    ) -> WriteResult:
        result = WriteResult()
        now = self.clock()
        pairs: list[tuple[Item, list[dict[str, Any]]]] = [
            (a, logic.document_actions(self.alias, logic.to_document(a, now))) for a in articles
        ]
        ok, failed, conflicted = await self._send(pairs)
        # An upsert conflicts only with a concurrent write of the same _id: sending it again is correct.
        for _ in range(self.cfg.retries + 1):
            if not conflicted:
                break
            ok2, failed2, conflicted = await self._send(
                [
                    (a, logic.document_actions(self.alias, logic.to_document(a, now)))  # type: ignore[arg-type]
                    for a in conflicted
                ]
            )
            ok += ok2
            failed += failed2
        result.ok += ok
        result.failed += failed
        result.failed += [Failure(it, "conflict", "kept conflicting") for it in conflicted]
        if duplicates:
            d_ok, d_failed = await self._record_duplicates(duplicates)
            result.ok += d_ok
            result.failed += d_failed
        return result

    async def _record_duplicates(self, dups: Sequence[DuplicateArticle]) -> tuple[list[Item], list[Failure]]:
        """Copies recorded on their originals (the first ``index.duplicates_kept`` sources and exact counts, see
        ``logic.duplicate_actions``), then listed in the sources index: the cost per copy is the same for the
        2nd and the 5,000th copy of a story (the document read and rewritten stays small)."""
        await self._ensure_sources()
        by_original: dict[str, list[DuplicateArticle]] = defaultdict(list)
        for d in dups:
            by_original[d.original_id].append(d)
        ok: list[Item] = []
        failed: list[Failure] = []
        todo = dict(by_original)
        for _ in range(self.cfg.retries + 3):
            if not todo:
                break
            current = await self._duplicate_fields(list(todo))
            counted = await self._listed([d.duplicate.ingest_key for g in todo.values() for d in g])
            pairs: list[tuple[Item, list[dict[str, Any]]]] = []
            group_of: dict[int, list[DuplicateArticle]] = {}
            for oid, group in todo.items():
                acts = logic.duplicate_actions(
                    self.alias, oid, group, current.get(oid), counted=counted, keep=self.cfg.duplicates_kept
                )
                head = group[0]
                pairs.append((head, acts))
                group_of[id(head)] = group
            g_ok, g_failed, g_conflicted = await self._send(pairs)
            recorded = [d for it in g_ok for d in group_of[id(it)]]
            listed, unlisted = await self._list_sources(recorded)
            ok.extend(listed)
            failed.extend(unlisted)
            for f in g_failed:
                failed.extend(Failure(d, f.reason, f.detail) for d in group_of[id(f.item)])
            todo = {group_of[id(it)][0].original_id: group_of[id(it)] for it in g_conflicted}
        for group in todo.values():
            failed.extend(Failure(d, "conflict", "original kept changing") for d in group)
        return ok, failed

    async def _ensure_sources(self) -> None:
        """The sources index, and the count fields on an article index made before them (adding fields is
        always allowed), once per writer."""
        if getattr(self, "_sources_ready", False):
            return
        with search_calls():
            await self.es.options(ignore_status=400).indices.create(
                index=logic.sources_index(self.alias), mappings=SOURCES_MAPPING
            )
            # (no index yet: the first write creates it from the template, which has the fields)
            await self.es.options(ignore_status=404).indices.put_mapping(
                index=self.alias, properties=_count_fields()
            )
        self._sources_ready = True

    async def _duplicate_fields(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The originals' duplicate fields only (not their bodies), with the sequence numbers to guard on."""
        with search_calls():
            resp = await self.es.mget(index=self.alias, ids=ids, source_includes=logic.DUPLICATE_FIELDS)
        return {d["_id"]: d for d in resp["docs"] if d.get("found")}

    async def _listed(self, keys: list[str]) -> set[str]:
        """Which of these copies the sources index lists: they were counted (an entry is written after its count)."""
        if not keys:
            return set()
        with search_calls():
            resp = await self.es.mget(index=logic.sources_index(self.alias), ids=keys, source=False)
        return {d["_id"] for d in resp["docs"] if d.get("found")}

    async def _list_sources(self, dups: list[DuplicateArticle]) -> tuple[list[Item], list[Failure]]:
        """Sources-index entries of copies just counted (create-once: a replay finds its entry there)."""
        if not dups:
            return [], []
        results = await self._bulk(logic.source_actions(logic.sources_index(self.alias), dups))
        ok: list[Item] = []
        failed: list[Failure] = []
        for d, res in zip(dups, results, strict=True):
            status = int(res.get("status", 500))
            if 200 <= status < 300 or status == 409:
                ok.append(d)
            else:
                failed.append(Failure(d, f"sources-{status}", str(res.get("error"))[:500]))
        return ok, failed

    async def _mget(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        with search_calls():
            resp = await self.es.mget(index=self.alias, ids=ids)
        return {d["_id"]: d for d in resp["docs"] if d.get("found")}
