"""The dedupe state in a real search server (osmem) retrieves what the in-memory store retrieves.

The workers keep their state in the search index; the offline deduper and the unit tests use the memory store.
Both must find the same candidates: copies by their exact keys whenever they arrived, rewrites by shared LSH
bands, and other reports of an event by shared names only within the event window.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from services.common.es import async_client
from services.common.records import Article, Trace
from services.common.settings import ElasticSettings
from services.common.settings.dedupe import DedupeSettings
from services.common.text import clean
from services.dedupe import logic
from services.dedupe.logic import Signature
from services.dedupe.store import ElasticStore, Entry, MemoryStore
from services.ingest.logic import article_id, parse_txt
from services.ops.embedded import Stack
from tests.conftest import SEEDS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

CFG = DedupeSettings()
T0 = datetime(2022, 12, 19, 9, 0, tzinfo=UTC)


def body(name: str) -> str:
    path = next(SEEDS.glob(f"{name}_*.txt"))
    return clean(next(parse_txt(path.read_text(encoding="utf-8"))).fields["body"])


def entry(key: str, text: str, at: datetime) -> Entry:
    a = Article(
        id=article_id(None, text),
        trace=Trace(ingest_id=key, source=key),
        source=key,
        body=text,
        published_at=at,
        ingested_at=at,
    )
    s = logic.signature(a, CFG)
    assert isinstance(s, Signature)
    return Entry(sig=s, article=a)


async def both(
    stack: Stack, stored: Sequence[Entry], probes: Sequence[Entry], cfg: DedupeSettings = CFG
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Candidates of each probe from the search store and from the memory store, given the same entries."""
    es = async_client(ElasticSettings(url=stack.search.url, compat="osmem"))
    try:
        store = ElasticStore(es, f"dedupe-store-{uuid.uuid4().hex[:8]}", cfg)
        await store.ensure_index()
        mem = MemoryStore(CFG)
        for e in stored:  # one by one, as they arrive
            await store.register([e])
            await mem.register([e])
        sigs = [e.sig for e in probes]
        got, want = await store.candidates(sigs), await mem.candidates(sigs)

        def named(c: dict[str, list[str]]) -> dict[str, set[str]]:  # ingest keys are "<ingest_id>:<record>"
            return {k.split(":")[0]: {x.split(":")[0] for x in v} for k, v in c.items()}

        return named(got), named(want)
    finally:
        await es.close()


@pytest.mark.parametrize("refresh", ["true", "wait_for"])
def test_search_store_finds_the_candidates_the_memory_store_finds(stack: Stack, refresh: str) -> None:
    """Either way of making a batch's signatures visible (a forced refresh, or waiting for the periodic one)."""
    b000, b001, b002, b003 = (body(n) for n in ("000", "001", "002", "003"))
    stored = [
        entry("s001", b001, T0),  # the wire story
        entry("s003", b003, T0 - timedelta(days=300)),  # another event, long before
        entry("s001-late", b001, T0 + timedelta(days=40)),  # the wire story again, weeks later
    ]
    probes = [
        entry("p002", b002, T0 + timedelta(hours=2)),  # a rewrite of 001, same day
        entry("p000-next", b000, T0 + timedelta(days=2)),  # another report of the event, within the window
        entry("p000-4d", b000, T0 + timedelta(days=4)),  # just outside the window (3 days)
        entry("p000-far", b000, T0 + timedelta(days=20)),  # far outside it
        entry("p001-copy", b001, T0 + timedelta(days=90)),  # a copy: found whenever it arrives
    ]
    cfg = DedupeSettings(register_refresh=refresh)  # type: ignore[arg-type]
    got, want = asyncio.run(both(stack, stored, probes, cfg))
    assert got == want
    assert {"s001", "s001-late"} <= got["p001-copy"]  # copies by exact keys, regardless of time
    assert "s001" in got["p002"]  # the rewrite
    assert "s001" in got["p000-next"]  # same event: shared names within the window
    assert "s001" not in got["p000-4d"]
    assert not {"s001", "s001-late"} & got["p000-far"]
    assert "s003" not in got["p000-next"]  # ten months apart: never an event candidate


def test_dedupe_index_asks_for_no_replica_by_default(stack: Stack) -> None:
    """On one node a replica is never assigned: the index would stay yellow forever."""

    async def replicas() -> str:
        es = async_client(ElasticSettings(url=stack.search.url, compat="osmem"))
        try:
            index = f"dedupe-store-{uuid.uuid4().hex[:8]}"
            await ElasticStore(es, index, CFG).ensure_index()
            got = await es.indices.get_settings(index=index)
            return str(got[index]["settings"]["index"]["number_of_replicas"])
        finally:
            await es.close()

    assert CFG.index_replicas == 0
    assert asyncio.run(replicas()) == "0"


def test_search_shows_every_article_of_an_event_with_the_events_merged_into_it(stack: Stack) -> None:
    """Dedupe records that event B turned out to be event A (a merge document) instead of rewriting B's
    articles; ``newsflow search --event A`` (and ``--event B``) shows the articles of both, and the plain
    search still collapses per event."""
    from services.common.es import sync_client
    from services.index.search import search
    from services.index.template import mapping_properties

    es = sync_client(ElasticSettings(url=stack.search.url, compat="osmem"))
    articles, dedupe = f"articles-{uuid.uuid4().hex[:8]}", f"dedupe-{uuid.uuid4().hex[:8]}"
    try:
        es.indices.create(index=articles, mappings={"dynamic": "strict", "properties": mapping_properties()})
        docs = [("a1", "A", 1), ("a2", "A", 2), ("b1", "B", 3), ("c1", "C", 4)]
        for doc_id, event, day in docs:
            es.index(
                index=articles,
                id=doc_id,
                document={
                    "id": doc_id,
                    "pending": False,
                    "title": f"report {doc_id}",
                    "event_id": event,
                    "published_at": f"2022-12-{10 + day}T00:00:00+00:00",
                    "ingested_at": f"2022-12-{10 + day}T00:00:00+00:00",
                },
            )

        async def merged() -> None:
            aes = async_client(ElasticSettings(url=stack.search.url, compat="osmem"))
            try:
                store = ElasticStore(aes, dedupe, CFG)
                await store.ensure_index()
                c = entry("m1", body("002"), T0).sig
                await store.decide(
                    [
                        logic.Decision(
                            ingest_key=c.ingest_key,
                            article_id=c.article_id,
                            source=c.source,
                            verdict="unique",
                            event_id="A",
                            at=c.at,
                            merges=("B",),
                        )
                    ]
                )
                assert await store.merged_into(["B", "A"]) == {"B": "A"}
            finally:
                await aes.close()

        asyncio.run(merged())
        es.indices.refresh(index=[articles, dedupe])
        for asked in ("A", "B"):
            got = search(es, articles, "*", event=asked, dedupe_index=dedupe)
            assert [h["id"] for h in got["hits"]] == ["a1", "a2", "b1"], asked
            assert got["event"] == {"id": "A", "merged": ["B"]}
        plain = search(es, articles, "*")
        assert len(plain["hits"]) == 3  # one hit per event id: A, B, C
    finally:
        es.options(ignore_status=404).indices.delete(index=[articles, dedupe])
        es.close()


def test_another_worker_reads_back_the_fingerprint_it_needs_to_verify(stack: Stack) -> None:
    """A signature registered by one worker and fetched by another (no shared cache) scores the same."""
    from services.dedupe.similarity import compare, near

    async def roundtrip() -> tuple[Signature, Signature, int]:
        es = async_client(ElasticSettings(url=stack.search.url, compat="osmem"))
        try:
            index = f"dedupe-store-{uuid.uuid4().hex[:8]}"
            writer, reader = ElasticStore(es, index, CFG), ElasticStore(es, index, CFG)
            await writer.ensure_index()
            e = entry("w001", body("001"), T0)
            await writer.register([e])
            got = await reader.fetch([e.sig.ingest_key])
            doc = await es.get(index=index, id=f"sig:{e.sig.ingest_key}")
            return e.sig, got[e.sig.ingest_key][0], len(doc["_source"]["fp"])
        finally:
            await es.close()

    fresh, fetched, size = asyncio.run(roundtrip())
    probe = entry("p002", body("002"), T0).sig
    assert near(probe.fp, fetched.fp) == near(probe.fp, fresh.fp)
    assert compare(probe.fp, fetched.fp, min_dice=0.4) == compare(probe.fp, fresh.fp, min_dice=0.4)
    assert size < len(body("001"))  # the packed fingerprint (base64) is smaller than the body it replaces
