"""Precision first: a follow-up, a report with other figures, a shared stock block are not copies.

No broker, no search server: the engine runs the pure logic against the in-memory store.
"""

from __future__ import annotations

from pathlib import Path

from services.common.records import DuplicateArticle, UniqueArticle
from services.common.text import clean
from tests.conftest import REPO
from tests.unit.dedupe.test_logic import CFG, T0, art, run, seed, syndicated

DEV = REPO / "tests" / "fixtures" / "dedupe_dev"

STOCK = (
    "Background: the regional assembly was created in 1999 and has 60 members elected every four years. "
    "It sets the budget for transport, health and education across the region. "
    "It can raise a limited share of income tax and borrow for capital projects. "
    "Its members choose a first minister, who appoints a cabinet of up to ten ministers."
)


def fixture(name: str) -> str:
    return clean((DEV / name).read_text(encoding="utf-8"))


def test_a_follow_up_that_reuses_background_paragraphs_is_unique_in_the_same_event() -> None:
    body, _ = seed("001")
    first, follow = run(art(body), art(fixture("seed001-followup.txt")))
    assert isinstance(follow.result, UniqueArticle)
    assert first.decision is not None and follow.decision is not None
    assert follow.decision.event_id == first.decision.event_id


def test_a_rewrite_whose_days_and_figures_differ_is_not_a_rewrite() -> None:
    wire, _ = seed("001")
    rewrite, _ = seed("002")
    changed = (
        rewrite.replace("Monday", "Thursday")
        .replace("Sunday", "Wednesday")
        .replace("three and a half years", "two years")
    )
    _, real, other = run(art(wire), art(rewrite), art(changed))
    assert isinstance(real.result, DuplicateArticle) and real.result.duplicate.kind == "rewrite"
    assert isinstance(other.result, UniqueArticle)


def test_a_copy_with_other_figures_is_another_report() -> None:
    body, pub = seed("003")
    bumped = (
        body.replace("10 days", "12 days")
        .replace("February 14", "February 16")
        .replace("Monday", "Wednesday")
    )
    _, o = run(art(body, published=pub), art(bumped, published=pub))
    assert isinstance(o.result, UniqueArticle)


def test_a_syndicated_copy_is_still_caught() -> None:
    body, _ = seed("000")
    _, o = run(art(body), art(syndicated(body)))
    assert isinstance(o.result, DuplicateArticle) and o.result.duplicate.kind == "near"


def test_articles_that_share_only_an_outlets_stock_block_are_different() -> None:
    leads = [
        "The transport committee voted on Tuesday to close the old harbour bridge to lorries from March.",
        "Teachers at three secondary schools in the valley will strike next week over class sizes, unions said.",
        "A wildfire that burned 400 hectares of forest near the northern lakes was brought under control.",
        "The city library will open on Sundays from April after volunteers offered to staff the reading rooms.",
    ]
    outs = run(*(art(f"{lead}\n\n{STOCK}", published=T0) for lead in leads))
    assert all(isinstance(o.result, UniqueArticle) for o in outs)


def test_an_article_that_is_mostly_stock_is_judged_by_exact_keys_only_and_says_so() -> None:
    leads = [
        "The transport committee voted on Tuesday to close the old harbour bridge to lorries from March.",
        "Teachers at three secondary schools in the valley will strike next week over class sizes, unions said.",
        "A wildfire that burned 400 hectares of forest near the northern lakes was brought under control.",
    ]
    outs = run(*(art(f"{lead}\n\n{STOCK}", published=T0) for lead in leads), art(f"Short notice.\n\n{STOCK}"))
    last = outs[-1]
    assert isinstance(last.result, UniqueArticle)
    assert last.decision is not None and last.decision.reason == "boilerplate"


def test_a_text_too_short_to_compare_says_why() -> None:
    (o,) = run(art("Markets closed early today."))
    assert o.decision is not None and o.decision.reason == "too-short"


def test_a_hand_written_rewrite_of_a_gum_text_is_a_rewrite(shared_data: Path) -> None:
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    from eval_dedupe import gum_texts

    original = next(b for s, _, b, _ in gum_texts(shared_data / "gum-news") if s.endswith("iodine"))
    _, rw, fu = run(
        art(clean(original)), art(fixture("iodine-rewrite.txt")), art(fixture("iodine-followup.txt"))
    )
    assert isinstance(rw.result, DuplicateArticle) and rw.result.duplicate.kind == "rewrite"
    assert isinstance(fu.result, UniqueArticle)
    assert CFG.lead_slack >= 1


def test_a_stored_fingerprint_scores_as_the_fresh_one() -> None:
    from services.dedupe.features import fingerprint, pack, unpack
    from services.dedupe.similarity import compare, fact_conflicts, near

    bodies = [seed(n)[0] for n in ("000", "001", "002", "003")] + [syndicated(seed("001")[0])]
    fps = [fingerprint(b) for b in bodies]
    for a in fps:
        for b in fps:
            stored = unpack(pack(b))
            assert near(a, stored) == near(a, b)
            assert compare(a, stored, min_dice=0.4) == compare(a, b, min_dice=0.4)
            assert fact_conflicts(stored, a, min_dice=0.4) == fact_conflicts(b, a, min_dice=0.4)
    assert len(pack(fps[1])) < 5 * fps[1].n_words  # ~4.3 bytes a word: ~1.5 KB for a 350-word article
