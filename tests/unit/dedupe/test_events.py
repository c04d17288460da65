"""Events are clusters with a bounded span; two events found to be one are merged by a record, never rewritten."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.dedupe import logic
from services.dedupe.logic import Known, Signature
from services.dedupe.store import MemoryStore
from tests.unit.dedupe.test_logic import CFG, T0, art, run, seed


def sig(name: str, days: float = 0.0) -> Signature:
    s = logic.signature(art(seed(name)[0], published=T0 + timedelta(days=days)), CFG)
    assert isinstance(s, Signature)
    return s


def test_a_story_that_goes_on_for_days_is_several_events_each_within_the_span() -> None:
    body = seed("000")[0]
    paras = body.split("\n\n")
    # the same cast every day for ten days, each day a different mix of paragraphs (not copies of each other)
    days = [
        art(
            "\n\n".join([*paras[d % 3 :: 2], f"Day {d} of the visit brought more talks."]),
            published=T0 + timedelta(days=d),
        )
        for d in range(10)
    ]
    outs = run(*days)
    by_event: dict[str, list[int]] = {}
    for d, o in enumerate(outs):
        assert o.decision is not None
        if o.decision.verdict == "unique":  # (a copy takes its original's event, whenever it comes)
            by_event.setdefault(o.decision.event_id, []).append(d)
    assert len(by_event) >= 2
    for members in by_event.values():
        assert max(members) - min(members) <= CFG.event_span_days


def test_an_article_matching_two_events_records_the_later_as_merged_into_the_earlier() -> None:
    a, b, c = sig("000"), sig("001", 0.1), sig("002", 0.2)
    # 000 and 001 were decided at the same moment by two workers: neither saw the other, two events
    da = logic.judge(a, [], CFG).decision
    db = logic.judge(b, [], CFG).decision
    assert da.event_id != db.event_id
    store = MemoryStore(CFG)
    asyncio.run(store.decide([da, db]))
    # 002 is no copy of 000; the rewrite check would take it as 001's duplicate, so judge its event directly
    event_id, _, merges = logic.choose_event(c, [Known(a, da), Known(b, db)], {}, CFG)
    assert event_id == da.event_id and merges == (db.event_id,)
    dc = logic.Decision(
        ingest_key=c.ingest_key,
        article_id=c.article_id,
        source=c.source,
        verdict="unique",
        event_id=event_id,
        at=c.at,
        merges=merges,
    )
    asyncio.run(store.decide([dc]))
    assert asyncio.run(store.merged_into([db.event_id, da.event_id])) == {db.event_id: da.event_id}
    assert store.decs[b.ingest_key].event_id == db.event_id  # history is not rewritten


def test_another_event_months_later_with_the_same_names_is_not_joined() -> None:
    early, late = sig("000"), sig("000", CFG.event_span_days)
    d = logic.judge(early, [], CFG).decision
    event_id, _, _ = logic.choose_event(late, [Known(early, d)], {}, CFG)
    assert event_id == late.article_id
