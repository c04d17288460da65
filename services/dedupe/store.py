"""Dedupe state stores: who first claimed a key. First writer wins, atomically, across every dedupe worker.

``ElasticClaimStore`` keeps claims as documents ``_id = key`` created with ``op_type=create`` in the dedupe index:
Elasticsearch makes a create of one ``_id`` linearizable, so two workers on different partitions can never both
own a key, and the state survives worker restarts without faust Tables (see README "Guarantees").
``MemoryClaimStore`` is the same contract in a dict, for the offline ``newsflow dedupe`` command and unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from elasticsearch import AsyncElasticsearch

from services.dedupe.logic import Claim, Owner


class ClaimStore(Protocol):
    async def claim(self, claims: Sequence[Claim]) -> dict[str, Owner]:
        """Claim every key not yet owned; return the owner of each key (maybe the claimant itself)."""
        ...


class MemoryClaimStore:
    def __init__(self) -> None:
        self.owners: dict[str, Owner] = {}

    def claim_sync(self, claims: Sequence[Claim]) -> dict[str, Owner]:
        for c in claims:
            self.owners.setdefault(c.key, Owner(c.article_id, c.ingest_key, c.source))
        return {c.key: self.owners[c.key] for c in claims}

    async def claim(self, claims: Sequence[Claim]) -> dict[str, Owner]:
        return self.claim_sync(claims)


DEDUPE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "article_id": {"type": "keyword"},
        "ingest_key": {"type": "keyword"},
        "source": {"type": "keyword", "index": False},
        "kind": {"type": "keyword"},
        "at": {"type": "date"},
    },
}


class StoreUnavailable(Exception):
    """The store did not answer; the caller retries the whole batch (nothing was decided)."""


class ElasticClaimStore:
    def __init__(self, es: AsyncElasticsearch, index: str) -> None:
        self.es = es
        self.index = index

    async def ensure_index(self) -> None:
        if not await self.es.indices.exists(index=self.index):
            try:
                await self.es.indices.create(index=self.index, mappings=DEDUPE_MAPPING)
            except Exception as exc:  # created by a concurrent worker
                if "already_exists" not in str(exc) and "resource_already_exists" not in str(exc):
                    raise

    async def claim(self, claims: Sequence[Claim]) -> dict[str, Owner]:
        if not claims:
            return {}
        ops: list[dict[str, Any]] = []
        for c in claims:
            ops.append({"create": {"_index": self.index, "_id": c.key}})
            ops.append({"article_id": c.article_id, "ingest_key": c.ingest_key, "source": c.source,
                        "kind": c.kind, "at": c.at.isoformat()})
        resp = await self.es.bulk(operations=ops)
        owners: dict[str, Owner] = {}
        lost: list[str] = []
        for c, item in zip(claims, resp["items"], strict=True):
            res = item["create"]
            status = res.get("status", 500)
            if 200 <= status < 300:
                owners.setdefault(c.key, Owner(c.article_id, c.ingest_key, c.source))
            elif status == 409:
                lost.append(c.key)
            else:
                raise StoreUnavailable(f"claim of {c.key} failed with {status}: {res.get('error')}")
        if lost:
            got = await self.es.mget(index=self.index, ids=sorted(set(lost)))
            for doc in got["docs"]:
                if not doc.get("found"):
                    raise StoreUnavailable(f"claim {doc.get('_id')} conflicted but is not found")
                src = doc["_source"]
                owners[doc["_id"]] = Owner(src["article_id"], src["ingest_key"], src.get("source", ""))
        return owners

    async def expire(self, before: datetime) -> int:
        """Drop claims older than ``before`` (the dedupe window); returns how many went."""
        resp = await self.es.delete_by_query(index=self.index, query={"range": {"at": {"lt": before.isoformat()}}},
                                             conflicts="proceed", refresh=True)
        return int(resp.get("deleted", 0))
