"""The dedupe state every worker shares: ``sig:`` and ``dec:`` documents in the dedupe index of the search server.

Elasticsearch semantics the protocol relies on: a bulk index with ``refresh=true`` (or ``refresh=wait_for``, which
waits for the periodic refresh instead of forcing one: ``register_refresh``) makes signatures visible to every
search started after it returns; ``op_type=create`` is linearizable per ``_id``, so a decision is written once.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import AsyncElasticsearch

from services.common.settings.dedupe import DedupeSettings
from services.dedupe.features import FP_VERSION, READABLE_FP_VERSIONS, Fingerprint, fingerprint, pack, unpack
from services.dedupe.logic import Decision, Signature
from services.dedupe.store.protocol import Entry, StoreUnavailable

DEDUPE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "type": {"type": "keyword"},  # "sig" | "dec"
        "ingest_key": {"type": "keyword"},
        "article_id": {"type": "keyword"},
        "source": {"type": "keyword", "index": False, "doc_values": False},
        "at": {"type": "date"},  # published_at, else ingested_at: windows and expiry
        "ingested_at": {"type": "date"},
        # sig
        "keys": {"type": "keyword"},  # exact hashes and LSH bands
        "terms": {"type": "keyword"},  # rare-looking names, each with its time bucket: "name|bucket"
        "url_hash": {"type": "keyword", "index": False, "doc_values": False},
        # the packed fingerprint (features.pack, base64): what verification needs, ~1.5 KB for 350 words where the
        # body was ~2.3 KB and cost a fingerprint (~1 ms) per candidate fetched; "body" is read in state written
        # before it
        "fp": {"type": "binary"},
        "fp_version": {"type": "integer", "index": False},
        "body": {"type": "text", "index": False},
        # dec
        "verdict": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "similarity": {"type": "float", "index": False},
        "event_id": {"type": "keyword"},
        "original_key": {"type": "keyword"},
        "original_id": {"type": "keyword"},
        "original_source": {"type": "keyword", "index": False, "doc_values": False},
        "event_start": {"type": "date", "index": False},
        "reason": {"type": "keyword"},
        "merges": {"type": "keyword", "index": False, "doc_values": False},
        # evm (an event found to be another): event_id -> merged_into
        "merged_into": {"type": "keyword"},
    },
}


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def decision_doc(d: Decision) -> dict[str, Any]:
    return {
        "type": "dec",
        "ingest_key": d.ingest_key,
        "article_id": d.article_id,
        "source": d.source,
        "at": d.at.isoformat(),
        "verdict": d.verdict,
        "kind": d.kind,
        "similarity": d.similarity,
        "event_id": d.event_id,
        "original_key": d.original_key,
        "original_id": d.original_id,
        "original_source": d.original_source,
        "event_start": d.event_start.isoformat() if d.event_start else None,
        "reason": d.reason,
        "merges": list(d.merges),
    }


def decision_from(src: dict[str, Any]) -> Decision:
    return Decision(
        ingest_key=src["ingest_key"],
        article_id=src["article_id"],
        source=src.get("source", ""),
        verdict=src["verdict"],
        event_id=src["event_id"],
        at=_dt(src["at"]),
        kind=src.get("kind"),
        similarity=src.get("similarity"),
        original_key=src.get("original_key"),
        original_id=src.get("original_id"),
        original_source=src.get("original_source"),
        event_start=_dt(src["event_start"]) if src.get("event_start") else None,
        reason=src.get("reason"),
        merges=tuple(src.get("merges") or ()),
    )


class ElasticStore:
    """The shared state in one index: ``sig:<ingest key>`` and ``dec:<ingest key>`` documents.

    Both carry ``at`` so that one ``delete_by_query`` expires all state. Signature documents keep the retrieval
    keys and the packed fingerprint (``features.pack``; state from before it keeps the body, fingerprinted again when
    fetched); fetched signatures are cached per process.
    """

    def __init__(
        self, es: AsyncElasticsearch, index: str, cfg: DedupeSettings, cache_size: int = 4096
    ) -> None:
        self.es = es
        self.index = index
        self.cfg = cfg
        self._cache: dict[str, Signature] = {}
        self._cache_size = cache_size

    async def ensure_index(self) -> None:
        if not await self.es.indices.exists(index=self.index):
            try:
                await self.es.indices.create(
                    index=self.index,
                    mappings=DEDUPE_MAPPING,
                    settings={"number_of_replicas": self.cfg.index_replicas},
                )
            except Exception as exc:  # created by a concurrent worker
                if "already_exists" not in str(exc):
                    raise
        else:  # an index from an earlier version: add the fields it lacks (adding fields is always allowed)
            await self.es.indices.put_mapping(index=self.index, properties=DEDUPE_MAPPING["properties"])

    async def decisions(self, keys: Sequence[str]) -> dict[str, Decision]:
        if not keys:
            return {}
        resp = await self.es.mget(index=self.index, ids=[f"dec:{k}" for k in keys])
        return {
            d["_source"]["ingest_key"]: decision_from(d["_source"]) for d in resp["docs"] if d.get("found")
        }

    async def register(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        ops: list[dict[str, Any]] = []
        for e in entries:
            s = e.sig
            ops.append({"index": {"_index": self.index, "_id": f"sig:{s.ingest_key}"}})
            ops.append(
                {
                    "type": "sig",
                    "ingest_key": s.ingest_key,
                    "article_id": s.article_id,
                    "source": s.source,
                    "at": s.at.isoformat(),
                    "ingested_at": s.ingested_at.isoformat(),
                    "keys": list(s.keys),
                    "terms": self._term_keys(s),
                    "url_hash": s.url_hash,
                    "fp": base64.b64encode(pack(s.fp)).decode("ascii"),
                    "fp_version": FP_VERSION,
                }
            )
            self._remember(s)
        # visible to every search that starts after this returns (rule 1): forced now, or the next periodic refresh
        refresh: bool | str = True if self.cfg.register_refresh == "true" else "wait_for"
        resp = await self.es.bulk(operations=ops, refresh=refresh)
        if resp.get("errors"):
            bad = [i["index"] for i in resp["items"] if not 200 <= i["index"].get("status", 500) < 300]
            raise StoreUnavailable(f"{len(bad)} signatures not written, first: {bad[0].get('error')}")

    def _bucket(self, at: datetime) -> int:
        """The time bucket of ``at``: event_window_days wide, so a window around ``at`` lies in 3 buckets."""
        return int(at.timestamp() // (self.cfg.event_window_days * 86400))

    def _term_keys(self, s: Signature, buckets: Sequence[int] = (0,)) -> list[str]:
        """A signature's names, each with a time bucket: its own (offset 0) as stored; the query also asks the
        neighbouring ones (offsets -1, 0, 1)."""
        b = self._bucket(s.at)
        return [f"{t}|{b + d}" for t in s.terms for d in buckets]

    async def candidates(self, sigs: Sequence[Signature]) -> dict[str, list[str]]:
        """Three searches per signature in one msearch. Filters that match most of the index (a document type, a
        date range) cost a scan of it in some servers, so none is used: only signatures have keys and terms, and
        the event window is the time buckets in the terms themselves (then exactly, on the hits)."""
        if not sigs:
            return {}
        cfg = self.cfg
        searches: list[dict[str, Any]] = []
        head = {"index": self.index}
        for s in sigs:
            mine = {"ids": {"values": [f"sig:{s.ingest_key}"]}}
            # exact keys: the earliest arrivals with this text/URL
            searches += [
                head,
                {
                    "query": {
                        "bool": {"filter": [{"terms": {"keys": list(s.exact_keys)}}], "must_not": [mine]}
                    },
                    "sort": [{"ingested_at": "asc"}],
                    "size": 4,
                    "_source": False,
                },
            ]
            # LSH bands: most bands in common first
            bands = [k for k in s.keys if k.startswith("b")] or ["-"]
            searches += [
                head,
                {
                    "query": {
                        "bool": {
                            "should": [{"term": {"keys": b}} for b in bands],
                            "minimum_should_match": 1,
                            "must_not": [mine],
                        }
                    },
                    "size": cfg.max_candidates,
                    "_source": False,
                },
            ]
            # rare names in this time bucket and its neighbours: most shared names first
            terms = self._term_keys(s, (-1, 0, 1)) or ["-"]
            searches += [
                head,
                {
                    "query": {
                        "bool": {
                            "should": [{"term": {"terms": t}} for t in terms],
                            "minimum_should_match": min(cfg.min_shared_terms, max(1, len(s.terms))),
                            "must_not": [mine],
                        }
                    },
                    "size": 2 * cfg.max_candidates if len(s.terms) >= cfg.min_shared_terms else 0,
                    "_source": ["at"],
                },
            ]
        resp = await self.es.msearch(searches=searches)
        window = timedelta(days=cfg.event_window_days)
        out: dict[str, list[str]] = {}
        for i, s in enumerate(sigs):
            rs = resp["responses"][3 * i : 3 * i + 3]
            for r in rs:
                if "error" in r:
                    raise StoreUnavailable(f"candidate search failed: {r['error']}")
            keys = dict.fromkeys(h["_id"].removeprefix("sig:") for r in rs[:2] for h in r["hits"]["hits"])
            near = [
                h["_id"].removeprefix("sig:")
                for h in rs[2]["hits"]["hits"]
                if abs(_dt(h["_source"]["at"]) - s.at) <= window
            ]
            keys.update(dict.fromkeys(near[: cfg.max_candidates]))
            out[s.ingest_key] = list(keys)
        return out

    async def fetch(self, keys: Sequence[str]) -> dict[str, tuple[Signature, Decision | None]]:
        if not keys:
            return {}
        ids = [f"sig:{k}" for k in keys if k not in self._cache] + [f"dec:{k}" for k in keys]
        # not the retrieval keys and terms (~60 band keys and the names): verification never reads them
        resp = await self.es.mget(index=self.index, ids=ids, source_excludes=["keys", "terms"])
        decs: dict[str, Decision] = {}
        for d in resp["docs"]:
            if not d.get("found"):
                continue
            src = d["_source"]
            if src["type"] == "dec":
                decs[src["ingest_key"]] = decision_from(src)
            else:
                self._remember(self._signature_from(src))
        return {k: (self._cache[k], decs.get(k)) for k in keys if k in self._cache}

    def _signature_from(self, src: dict[str, Any]) -> Signature:
        cfg = self.cfg
        if src.get("fp") and src.get("fp_version") in READABLE_FP_VERSIONS:
            return self._signature(src, unpack(base64.b64decode(src["fp"]), src["fp_version"]))
        fp = fingerprint(
            src["body"],
            shingle_size=cfg.shingle_size,
            num_perm=cfg.num_perm,
            bands=cfg.lsh_bands,
            rows=cfg.lsh_rows,
            max_terms=cfg.max_terms,
        )
        return self._signature(src, fp)

    def _signature(self, src: dict[str, Any], fp: Fingerprint) -> Signature:
        return Signature(
            ingest_key=src["ingest_key"],
            article_id=src["article_id"],
            source=src.get("source", ""),
            at=_dt(src["at"]),
            ingested_at=_dt(src["ingested_at"]),
            fp=fp,
            url_hash=src.get("url_hash"),
            comparable=fp.n_words >= self.cfg.min_words,
        )

    def _remember(self, sig: Signature) -> None:
        if len(self._cache) >= self._cache_size:
            for k in list(self._cache)[
                : self._cache_size // 4
            ]:  # oldest quarter (dicts keep insertion order)
                del self._cache[k]
        self._cache[sig.ingest_key] = sig.stored()

    async def decide(self, decisions: Sequence[Decision]) -> dict[str, Decision]:
        if not decisions:
            return {}
        ops: list[dict[str, Any]] = []
        for d in decisions:
            ops.append({"create": {"_index": self.index, "_id": f"dec:{d.ingest_key}"}})
            ops.append(decision_doc(d))
        merges = [(e, d) for d in decisions for e in d.merges if e != d.event_id]
        for e, d in merges:  # create-once: the first merge of an event holds (a later one would form a cycle)
            ops.append({"create": {"_index": self.index, "_id": f"evm:{e}"}})
            ops.append({"type": "evm", "event_id": e, "merged_into": d.event_id, "at": d.at.isoformat()})
        resp = await self.es.bulk(operations=ops)
        for (e, _), item in zip(merges, resp["items"][len(decisions) :], strict=True):
            status = item["create"].get("status", 500)
            if not (200 <= status < 300 or status == 409):
                raise StoreUnavailable(f"event merge {e} not written: {status} {item['create'].get('error')}")
        held: dict[str, Decision] = {}
        lost: list[str] = []
        for d, item in zip(decisions, resp["items"][: len(decisions)], strict=True):
            status = item["create"].get("status", 500)
            if 200 <= status < 300:
                held[d.ingest_key] = d
            elif status == 409:
                lost.append(d.ingest_key)
            else:
                raise StoreUnavailable(
                    f"decision {d.ingest_key} not written: {status} {item['create'].get('error')}"
                )
        if lost:
            existing = await self.decisions(lost)
            missing = set(lost) - set(existing)
            if missing:
                raise StoreUnavailable(f"decisions conflicted but are not found: {sorted(missing)[:3]}")
            held.update(existing)
        return held

    async def merged_into(self, event_ids: Sequence[str]) -> dict[str, str]:
        if not event_ids:
            return {}
        resp = await self.es.mget(index=self.index, ids=[f"evm:{e}" for e in event_ids])
        return {d["_source"]["event_id"]: d["_source"]["merged_into"] for d in resp["docs"] if d.get("found")}

    async def expire(self, before: datetime) -> int:
        resp = await self.es.delete_by_query(
            index=self.index,
            query={"range": {"at": {"lt": before.isoformat()}}},
            conflicts="proceed",
            refresh=True,
        )
        for k in [k for k, s in self._cache.items() if s.at < before]:
            del self._cache[k]
        return int(resp.get("deleted", 0))
