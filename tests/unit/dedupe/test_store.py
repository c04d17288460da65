"""The memory store's posting index: reading only the tail of long postings gives the candidates a full read gives.
The search-server store's registration: a forced refresh or a wait for the periodic one."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from services.common.records import Article, Trace
from services.common.settings.dedupe import DedupeSettings
from services.dedupe import logic
from services.dedupe.store import ElasticStore, Entry
from services.dedupe.store.memory import PostingIndex, _recent


def test_posting_tail_reads_what_a_scan_of_the_whole_posting_reads() -> None:
    rng = random.Random(3)
    index = PostingIndex(fold_at=50)  # many runs, and a recent dict on top
    for serial in range(3000):
        index.add_all([rng.choice((1, 2, 3)), rng.randrange(4, 400), 10_000 + serial], serial)
    keys = [1, 2, 3, 7, 399, 10_005, 99_999]
    whole = index.get_many(keys)
    for scan in (1, 4, 48):
        tail = index.get_many(keys, tail=scan)
        for full, part in zip(whole, tail, strict=True):
            assert list(_recent(part, scan)) == list(_recent(full, scan))
            assert len(part) <= scan + 1
    assert len(whole[0]) > 500  # a common key: a long posting, of which only the tail is read


class _RecordingES:
    """Records the bulk requests the store makes (a fake collaborator: the real server is in
    tests/integration/test_dedupe_store.py)."""

    def __init__(self) -> None:
        self.bulks: list[dict[str, object]] = []

    async def bulk(self, **kwargs: object) -> dict[str, object]:
        self.bulks.append(kwargs)
        return {"errors": False, "items": []}


def test_dedupe_registers_with_a_forced_refresh_or_waits_for_the_periodic_one() -> None:
    a = Article(
        id="a1",
        trace=Trace(ingest_id="k1", source="s"),
        source="s",
        body="Putin arrived in Minsk on Monday for talks with Lukashenko about the war in Ukraine.",
        ingested_at=datetime(2022, 12, 19, tzinfo=UTC),
    )
    refreshes = []
    for mode in ("true", "wait_for"):
        cfg = DedupeSettings(register_refresh=mode)  # type: ignore[arg-type]
        sig = logic.signature(a, cfg)
        assert isinstance(sig, logic.Signature)
        es = _RecordingES()
        asyncio.run(ElasticStore(es, "dedupe", cfg).register([Entry(sig, a)]))  # type: ignore[arg-type]
        refreshes.append(es.bulks[0]["refresh"])
    assert refreshes == [True, "wait_for"]
