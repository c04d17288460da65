"""The cheap screen before a full comparison: it may only skip candidates that could not have matched."""

from __future__ import annotations

from datetime import timedelta

from services.dedupe import logic
from services.dedupe.features import fingerprint
from services.dedupe.similarity import compare_many, most_aligned
from tests.unit.dedupe.test_logic import CFG, T0, TEMPLATE_FOOT, TEMPLATE_HEAD, art, seed, syndicated


def _bodies() -> list[str]:
    bodies = [seed(n)[0] for n in ("000", "001", "002", "003")]
    return [
        *bodies,
        syndicated(bodies[1]),
        f"{TEMPLATE_HEAD}\n\n{bodies[3]}\n\n{TEMPLATE_FOOT}",
        "",
        "Too short.",
    ]


def test_dedupe_bound_on_aligned_sentences_is_never_below_the_full_comparison() -> None:
    fps = [fingerprint(b) for b in _bodies()]
    for a in fps:
        full = compare_many(a, fps, min_dice=CFG.rewrite_sentence_dice)
        bound = most_aligned(a, fps, min_dice=CFG.rewrite_sentence_dice)
        assert all(b >= p.aligned for b, p in zip(bound, full, strict=True))
    # and it is tight enough to rule out unrelated reports: seed 003 cannot be a rewrite of seed 001
    assert most_aligned(fps[3], [fps[1]], min_dice=CFG.rewrite_sentence_dice)[0] < CFG.rewrite_min_aligned


def test_dedupe_matches_old_candidates_the_same_with_the_screen() -> None:
    sigs = []
    for body in _bodies():
        s = logic.signature(art(body), CFG)
        if not isinstance(s, logic.Rejected):  # the empty body
            sigs.append(s)
    for a in sigs:
        plain = logic.match_many(a, sigs, CFG)
        screened = logic.match_many(a, sigs, CFG, match_only=[True] * len(sigs))
        assert [(k, s) for k, s, _ in plain] == [(k, s) for k, s, _ in screened]


def test_dedupe_old_candidates_leave_the_verdict_and_event_unchanged() -> None:
    (b1, p1), (b2, p2) = seed("001"), seed("002")
    early = logic.signature(art(b1, published=p1), CFG)
    late = logic.signature(art(b2, published=(p2 or T0) + timedelta(days=5)), CFG)
    assert isinstance(early, logic.Signature) and isinstance(late, logic.Signature)
    d = logic.judge(early, [], CFG).decision
    got = logic.judge(late, [logic.Known(early, d)], CFG).decision
    assert (got.verdict, got.kind, got.original_key) == ("duplicate", "rewrite", early.ingest_key)
