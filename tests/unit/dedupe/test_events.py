"""Events are clusters with a bounded span; two events found to be one are merged by a record, never rewritten."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from services.dedupe import logic, similarity
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


def test_an_event_is_chosen_alike_whether_its_members_are_compared_all_at_once_or_as_needed() -> None:
    body = seed("000")[0]
    paras = body.split("\n\n")
    # one story's reports over two days, another story beside it: earlier arrivals with their decisions
    texts = ["\n\n".join([*paras[d % 3 :: 2], f"Report {d} of the visit."]) for d in range(6)]
    texts += [seed("003")[0], seed("001")[0]]
    known: list[Known] = []
    for d, text in enumerate(texts):
        s = logic.signature(art(text, published=T0 + timedelta(hours=8 * d)), CFG)
        assert isinstance(s, Signature)
        known.append(Known(s, logic.judge(s, known, CFG).decision))
    assert len({k.decision.event_id for k in known}) >= 2
    spent = []
    for new in (seed("002")[0], "\n\n".join(paras[1::2]), seed("003")[0]):
        s = logic.signature(art(new, published=T0 + timedelta(days=1)), CFG)
        assert isinstance(s, Signature)
        every = dict(
            zip(
                [k.sig.ingest_key for k in known],
                logic.compare_with_stock(s, [k.sig for k in known], CFG),
                strict=True,
            )
        )
        compared: list[int] = []

        def more(
            bs: Sequence[Signature], s: Signature = s, compared: list[int] = compared
        ) -> list[similarity.Pair]:
            compared.append(len(bs))
            return logic.compare_with_stock(s, bs, CFG)

        eager = logic.choose_event(s, known, every, CFG)
        lazy = logic.choose_event(s, known, {}, CFG, more)
        assert lazy == eager
        spent.append(sum(compared))
    assert min(spent) < len(known)  # an event's first matching member ends its comparisons
