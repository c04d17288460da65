"""Dedupe verdicts, table-driven: pairs of articles in arrival order -> the verdict on the second one.

No broker, no search server: the engine runs the pure logic against the in-memory store.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from services.common.records import Article, DuplicateArticle, Rejected, Trace, UniqueArticle
from services.common.settings.dedupe import DedupeSettings
from services.common.text import clean
from services.dedupe import logic
from services.dedupe.engine import Deduper, Outcome
from services.dedupe.store import Entry, MemoryStore
from services.ingest.logic import article_id, parse_txt
from tests.conftest import REPO, SEEDS

CFG = DedupeSettings()
T0 = datetime(2022, 12, 19, 9, 0, tzinfo=UTC)
_n = count()

HEADER = "By Staff Reporter | The Morning Ledger | Updated 19 Dec 2022, 10:42 GMT"
FOOTER = (
    "This story was originally published by the Wire Service. Copyright 2022. All rights reserved. Sign up "
    "for our daily newsletter to get the latest headlines delivered to your inbox."
)
TEMPLATE_HEAD = (
    "The Valley Gazette | Local news you can trust since 1911 | Subscribe today and save 50% on your "
    "first year of digital access. Menu Home News Sports Opinion Business Obituaries Classifieds"
)
TEMPLATE_FOOT = (
    "Copyright 2022 The Valley Gazette, a member of the Gazette Media Group. All rights reserved. This "
    "website uses cookies to improve your experience. By continuing to browse you agree to our privacy "
    "policy and terms of service. Contact the newsroom with news tips and corrections."
)


def seed(name: str) -> tuple[str, datetime | None]:
    path = next(SEEDS.glob(f"{name}_*.txt"))
    fields = next(parse_txt(path.read_text(encoding="utf-8"))).fields
    pub = fields.get("published_at")
    return clean(fields["body"]), (datetime.fromisoformat(pub).replace(tzinfo=UTC) if pub else None)


def art(
    body: str,
    *,
    url: str | None = None,
    published: datetime | None = None,
    source: str | None = None,
    ingest_id: str | None = None,
) -> Article:
    i = next(_n)
    src = source or f"article-{i}"
    return Article(
        id=article_id(url, body),
        trace=Trace(ingest_id=ingest_id or f"ing{i:06d}", source=src),
        source=src,
        body=body,
        url=url,
        canonical_url=url,
        published_at=published,
        ingested_at=T0 + timedelta(seconds=i),
    )


def syndicated(body: str) -> str:
    """How outlets copy a wire story: new boilerplate around it, one paragraph dropped, a few words changed."""
    paras = [p for p in body.split("\n") if p.strip()]
    del paras[len(paras) // 2]
    words = "\n\n".join(paras).split(" ")
    for i in range(7, len(words), 20):  # 5% of the words
        words[i] = "reportedly"
    return f"{HEADER}\n\n{' '.join(words)}\n\n{FOOTER}"


def run(*articles: Article, store: MemoryStore | None = None) -> list[Outcome]:
    """Each article in its own batch, in order (as a slow stream would bring them)."""
    deduper = Deduper(store or MemoryStore(CFG), CFG)
    out: list[Outcome] = []
    for a in articles:
        out += asyncio.run(deduper.process([a], T0))
    return out


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], tuple[Article, Article]]  # (earlier, later)
    verdict: str  # of the later one: "unique" | "exact" | "near" | "rewrite"
    same_event: bool


def _seeds(a: str, b: str) -> tuple[Article, Article]:
    (ba, pa), (bb, pb) = seed(a), seed(b)
    return art(ba, published=pa), art(bb, published=pb)


CASES = [
    Case("rewrite of wire story", lambda: _seeds("001", "002"), "rewrite", True),
    Case("independent report of the same event", lambda: _seeds("000", "001"), "unique", True),
    Case("report of another event ten months earlier", lambda: _seeds("000", "003"), "unique", False),
    Case(
        "same text under another url",
        lambda: (
            art(seed("000")[0], url="https://a.example/x"),
            art(seed("000")[0], url="https://b.example/y"),
        ),
        "exact",
        True,
    ),
    Case(
        "updated article at the same url",
        lambda: (
            art(seed("000")[0], url="https://a.example/x"),
            art(seed("000")[0] + "\n\nUpdated at 10:00.", url="https://a.example/x"),
        ),
        "exact",
        True,
    ),
    Case(
        "syndicated copy with new boilerplate and a dropped paragraph",
        lambda: (art(seed("001")[0]), art(syndicated(seed("001")[0]))),
        "near",
        True,
    ),
    Case(
        "syndicated copy of a story that has a date",
        lambda: (
            art(seed("003")[0], published=seed("003")[1]),
            art(syndicated(seed("003")[0]), published=seed("003")[1]),
        ),
        "near",
        True,
    ),
    Case(
        "different stories in the same outlet template",
        lambda: (
            art(f"{TEMPLATE_HEAD}\n\n{seed('000')[0]}\n\n{TEMPLATE_FOOT}", published=T0),
            art(f"{TEMPLATE_HEAD}\n\n{seed('003')[0]}\n\n{TEMPLATE_FOOT}", published=T0),
        ),
        "unique",
        False,
    ),
    Case(
        "same short text",
        lambda: (art("Markets closed early today."), art("Markets closed early today.")),
        "exact",
        True,
    ),
    Case(
        "different short texts that share words",
        lambda: (art("Markets closed early today."), art("Markets opened late today.")),
        "unique",
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name.replace(" ", "_") for c in CASES])
def test_dedupe_judges_the_later_of_two_articles(case: Case) -> None:
    first, second = case.make()
    o1, o2 = run(first, second)
    assert o1.decision is not None and o1.decision.verdict == "unique"
    assert o2.decision is not None
    if case.verdict == "unique":
        assert o2.decision.verdict == "unique"
        assert isinstance(o2.result, UniqueArticle)
    else:
        assert (o2.decision.verdict, o2.decision.kind) == ("duplicate", case.verdict)
        assert isinstance(o2.result, DuplicateArticle)
        assert o2.result.original_id == first.id
        assert o2.result.duplicate.kind == case.verdict
    assert (o2.decision.event_id == o1.decision.event_id) is case.same_event


def test_dedupe_marks_rewrite_of_wire_story_as_duplicate() -> None:
    _, wire = _seeds("000", "001")
    rewrite = art(seed("002")[0])
    _, o = run(wire, rewrite)
    assert isinstance(o.result, DuplicateArticle)
    assert (o.result.original_id, o.result.duplicate.kind) == (wire.id, "rewrite")
    assert o.result.duplicate.similarity >= CFG.rewrite_min_share


def test_dedupe_gives_reports_of_one_event_the_id_of_the_earliest() -> None:
    arts = [art(b, published=p) for b, p in (seed(n) for n in ("000", "001", "002", "003"))]
    outs = run(*arts)
    events = [o.decision.event_id for o in outs if o.decision]
    assert events[0] == events[1] == events[2] == arts[0].id
    assert events[3] == arts[3].id


def test_dedupe_points_a_copy_of_a_copy_at_the_original() -> None:
    body = seed("001")[0]
    original, copy, copy_of_copy = art(body), art(syndicated(body)), art(syndicated(body) + "\n\nMore soon.")
    outs = run(original, copy, copy_of_copy)
    assert [o.decision.verdict for o in outs if o.decision] == ["unique", "duplicate", "duplicate"]
    assert all(
        isinstance(o.result, DuplicateArticle) and o.result.original_id == original.id for o in outs[1:]
    )


def test_dedupe_catches_copies_within_one_batch() -> None:
    body = seed("000")[0]
    arts = [art(body), art(syndicated(body)), art(seed("003")[0], published=seed("003")[1]), art(body)]
    outs = asyncio.run(Deduper(MemoryStore(CFG), CFG).process(arts, T0))
    assert [(o.decision.verdict, o.decision.kind) for o in outs if o.decision] == [
        ("unique", None),
        ("duplicate", "near"),
        ("unique", None),
        ("duplicate", "exact"),
    ]


def test_dedupe_gives_a_redelivered_article_the_same_verdict() -> None:
    store = MemoryStore(CFG)
    body = seed("000")[0]
    original = art(body)
    copy = art(syndicated(body))
    first = run(original, copy, store=store)
    again = run(original, copy, store=store)
    assert [o.decision for o in again] == [o.decision for o in first]
    assert all(o.replayed for o in again)
    assert again[0].decision is not None and again[0].decision.verdict == "unique"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("   \n  ", "empty-body"),
        ("\x00\x01\x02 %%%% 0x1f 99 88 77 ### @@@ \x7f\x7f " * 20, "not-text"),
        ("0101 1100 1110 0001 " * 50, "not-text"),
    ],
)
def test_dedupe_rejects_input_that_is_not_text(body: str, reason: str) -> None:
    (o,) = run(art(body))
    assert isinstance(o.result, Rejected)
    assert o.result.reason == reason


def test_dedupe_judges_a_few_words_only_by_exact_match() -> None:
    outs = run(
        art("Breaking: fire downtown."), art("Breaking: fire uptown."), art("Breaking: fire downtown.")
    )
    assert [(o.decision.verdict, o.decision.kind) for o in outs if o.decision] == [
        ("unique", None),
        ("unique", None),
        ("duplicate", "exact"),
    ]


def test_dedupe_forgets_articles_older_than_the_window() -> None:
    store = MemoryStore(CFG)
    body = seed("001")[0]
    run(art(body, published=T0 - timedelta(days=CFG.window_days + 1)), store=store)
    assert asyncio.run(store.expire(T0 - timedelta(days=CFG.window_days))) == 1
    assert not store.sigs and not store.decs and not store.by_key and not store.by_term
    (o,) = run(art(syndicated(body)), store=store)
    assert o.decision is not None and o.decision.verdict == "unique"


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t


def _pending_original(store: MemoryStore) -> tuple[Article, logic.Signature]:
    """An original that another worker registered but has not decided yet."""
    original = art(seed("001")[0])
    sig = logic.signature(original, CFG)
    assert isinstance(sig, logic.Signature)
    asyncio.run(store.register([Entry(sig, original)]))
    return original, sig


def test_dedupe_waits_for_a_candidate_another_worker_is_deciding() -> None:
    store = MemoryStore(CFG)
    original, sig = _pending_original(store)
    clock = _Clock()

    async def sleep(s: float) -> None:  # the other worker decides while we wait
        clock.t += s
        await store.decide([logic.judge(sig, [], CFG).decision])

    deduper = Deduper(store, CFG, sleep=sleep, monotonic=clock.monotonic)
    (o,) = asyncio.run(deduper.process([art(syndicated(seed("001")[0]))], T0))
    assert isinstance(o.result, DuplicateArticle) and o.result.original_id == original.id


def test_dedupe_ignores_a_candidate_still_pending_after_the_wait_rather_than_lose_an_article() -> None:
    store = MemoryStore(CFG)
    _pending_original(store)
    clock = _Clock()

    async def sleep(s: float) -> None:  # the other worker never decides (it died)
        clock.t += s

    deduper = Deduper(store, CFG, sleep=sleep, monotonic=clock.monotonic)
    (o,) = asyncio.run(deduper.process([art(syndicated(seed("001")[0]))], T0))
    assert isinstance(o.result, UniqueArticle)
    assert CFG.pending_wait_s <= clock.t < CFG.pending_wait_s + 2 * CFG.poll_interval_s


def test_dedupe_fingerprints_do_not_depend_on_the_process() -> None:
    code = (
        "from services.dedupe.features import fingerprint; import sys; "
        "f = fingerprint(sys.stdin.read()); print(f.minhash.sum(), f.bands.sum(), f.terms[:3], f.sent_keys.sum())"
    )
    body = seed("000")[0]
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            input=body,
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": str(seed_)},
        ).stdout
        for seed_ in (1, 2)
    }
    assert len(outs) == 1


def test_dedupe_compares_an_article_with_many_candidates_as_it_would_one_by_one() -> None:
    from services.dedupe.features import fingerprint
    from services.dedupe.similarity import compare, compare_many

    bodies = [seed(n)[0] for n in ("000", "001", "002", "003")]
    bodies += [syndicated(bodies[1]), f"{TEMPLATE_HEAD}\n\n{bodies[3]}\n\n{TEMPLATE_FOOT}", "", "Too short."]
    fps = [fingerprint(b) for b in bodies]
    for a in fps:
        together = compare_many(a, fps, min_dice=CFG.rewrite_sentence_dice)
        assert together == [compare(a, b, min_dice=CFG.rewrite_sentence_dice) for b in fps]
    rewrite = compare(fps[2], fps[1], min_dice=CFG.rewrite_sentence_dice)
    assert rewrite.aligned >= CFG.rewrite_min_aligned and rewrite.share >= CFG.rewrite_min_share


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Putin arrived. Lukashenko met him.", ["Putin arrived.", "Lukashenko met him."]),
        ('He said: "We will win." then left', ['He said: "We will win."', "then left"]),
        (
            "Mr. Smith spoke. no capital follows. Really?! Yes",
            ["Mr.", "Smith spoke. no capital follows.", "Really?!", "Yes"],
        ),
        (
            "A headline\n\nThe body starts here.\nlower case line",
            ["A headline", "The body starts here.", "lower case line"],
        ),
        ("普京抵达明斯克。会谈开始。", ["普京抵达明斯克。", "会谈开始。"]),
    ],
)
def test_dedupe_splits_sentences_where_a_reader_would(text: str, sentences: list[str]) -> None:
    from services.dedupe.features import split_sentences

    assert split_sentences(text) == sentences


def test_dedupe_command_prints_one_line_per_seed_with_verdicts_and_events() -> None:
    from services.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["dedupe", "--json", str(SEEDS)]) == 0
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [x["source"][-len("000_dde19ad682ac49a8.txt") :][:3] for x in lines] == [
        "000",
        "001",
        "002",
        "003",
    ]
    assert [(x["verdict"], x["kind"]) for x in lines] == [
        ("unique", None),
        ("unique", None),
        ("duplicate", "rewrite"),
        ("unique", None),
    ]
    assert lines[2]["duplicate_of"] == lines[1]["source"]
    assert lines[0]["event_id"] == lines[1]["event_id"] == lines[2]["event_id"] != lines[3]["event_id"]
