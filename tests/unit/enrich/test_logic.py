"""The enrich step on a fake model: corrections, canonical mentions, chunks, long and non-English articles."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from services.common.records import EnrichedArticle, Trace, UniqueArticle
from services.common.settings.enrich import EnrichSettings
from services.enrich import logic
from services.enrich.canonical import Aliases
from services.enrich.gazetteer import COUNTRY, Gazetteer, Place
from services.enrich.kb import KnowledgeBase, add_curated
from services.enrich.model import Span
from services.enrich.resources import DEFAULT_FIXES, Resources
from services.enrich.truecase import truecase


class FakeNer:
    """Tags every occurrence of the words it is told, like a model that knows only these names."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.calls: list[list[str]] = []

    def pipe(self, texts: Sequence[str]) -> list[list[Span]]:
        self.calls.append(list(texts))
        out = []
        for text in texts:
            spans: list[Span] = []
            for phrase, label in sorted(self.labels.items(), key=lambda kv: -len(kv[0])):
                for m in re.finditer(re.escape(phrase), text):
                    if not any(s.start < m.end() and m.start() < s.end for s in spans):
                        spans.append(Span(m.group(), label, m.start(), m.end()))
            out.append(sorted(spans, key=lambda s: s.start))
        return out


GAZ = Gazetteer()
for _name, _pop in (
    ("Kyiv", 2_952_301),
    ("Ukraine", COUNTRY),
    ("Paris", 2_138_551),
    ("Minsk", 1_742_124),
    ("Belarus", COUNTRY),
):
    GAZ.add(_name, Place(_name, "GPE", _pop))
GAZ.add("Kiev", Place("Kyiv", "GPE", 2_952_301, primary=False))
GAZ.demonyms.update({"ukrainian": "Ukraine", "ukrainians": "Ukraine", "belarusian": "Belarus"})
ALIASES = Aliases.from_entries(
    [
        {"name": "Vladimir Putin", "type": "PERSON", "aliases": ["Putin"]},
        {"name": "United States", "type": "GPE", "aliases": ["US", "U.S."]},
    ]
)
KB = KnowledgeBase()
add_curated(
    KB,
    [
        {"name": "Kyiv", "type": "GPE", "aliases": ["Kiev"]},
        {"name": "Ukraine", "type": "GPE"},
        {"name": "Paris", "type": "GPE"},
        {"name": "Minsk", "type": "GPE"},
        {"name": "Belarus", "type": "GPE"},
        {"name": "Vladimir Putin", "type": "PERSON", "aliases": ["Putin"], "qid": "Q7747"},
        {"name": "United States", "type": "GPE", "aliases": ["US", "U.S."]},
    ],
    "test",
)
KB.demonyms.update({"ukrainian": KB.by_id["newsflow:ukraine"], "belarusian": KB.by_id["newsflow:belarus"]})
RES = Resources(aliases=ALIASES, gazetteer=GAZ, kb=KB)
CFG = EnrichSettings()


def mentions(text: str, labels: dict[str, str], res: Resources = RES) -> list[tuple[str, str, str]]:
    ms = logic.mentions_of_texts([text], FakeNer(labels), CFG, res)[0]
    for m in ms:
        assert text[m.start : m.end] == m.text
    return [(m.text, m.type, m.name) for m in ms]


CASES = [
    (
        "a place the model calls a person is a place",
        "Drones hit Kyiv overnight.",
        {"Kyiv": "PERSON"},
        [("Kyiv", "GPE", "Kyiv")],
    ),
    (
        "an alternate spelling gets the canonical place name",
        "Drones hit Kiev overnight.",
        {"Kiev": "GPE"},
        [("Kiev", "GPE", "Kyiv")],
    ),
    (
        "a possessive is not part of the name",
        "Ukraine's army held.",
        {"Ukraine's": "GPE"},
        [("Ukraine", "GPE", "Ukraine")],
    ),
    (
        "a demonym the model calls a place is NORP",
        "Ukrainian forces held.",
        {"Ukrainian": "GPE"},
        [("Ukrainian", "NORP", "Ukrainian")],
    ),
    (
        "a title is cut off a person",
        "Then President Joe Biden spoke.",
        {"President Joe Biden": "PERSON"},
        [("Joe Biden", "PERSON", "Joe Biden")],
    ),
    (
        "a surname alone takes the full name of the article",
        "Olena Smirnova spoke. Later Smirnova left.",
        {"Olena Smirnova": "PERSON", "Smirnova": "PERSON"},
        [("Olena Smirnova", "PERSON", "Olena Smirnova"), ("Smirnova", "PERSON", "Olena Smirnova")],
    ),
    (
        "a surname the model calls a place is the person the article names",
        "Valeska Paris left. Paris said so.",
        {"Valeska Paris": "PERSON", "Paris": "GPE"},
        [("Valeska Paris", "PERSON", "Valeska Paris"), ("Paris", "PERSON", "Valeska Paris")],
    ),
    (
        "a surname the model missed is added",
        "Daniel Montalvo fled. Montalvo said so.",
        {"Daniel Montalvo": "PERSON"},
        [("Daniel Montalvo", "PERSON", "Daniel Montalvo"), ("Montalvo", "PERSON", "Daniel Montalvo")],
    ),
    (
        "the alias file names and types",
        "Putin met US envoys.",
        {"Putin": "ORG", "US": "GPE"},
        [("Putin", "PERSON", "Vladimir Putin"), ("US", "GPE", "United States")],
    ),
    (
        "an acronym takes the full name it stands for",
        "The Korean Central News Agency (KCNA) said. KCNA added.",
        {"Korean Central News Agency": "ORG", "KCNA": "ORG"},
        [("Korean Central News Agency", "ORG", "Korean Central News Agency")]
        + [("KCNA", "ORG", "Korean Central News Agency")] * 2,
    ),
    (
        "a span cut off an unclosed bracket",
        "The World Health Organisation (WHO said.",
        {"World Health Organisation (WHO": "ORG"},
        [("World Health Organisation", "ORG", "World Health Organisation")],
    ),
    ("non-entity labels are dropped", "On Monday 5 people came.", {"Monday": "DATE", "5": "CARDINAL"}, []),
]


@pytest.mark.parametrize(("why", "text", "labels", "expected"), CASES, ids=[c[0] for c in CASES])
def test_enrich_step_corrects_and_names_mentions(
    why: str, text: str, labels: dict[str, str], expected: list[tuple[str, str, str]]
) -> None:
    assert mentions(text, labels) == expected


def test_every_mention_of_one_entity_shares_its_id() -> None:
    ms = logic.mentions_of_texts(
        ["Vladimir Putin spoke. Putin left. Putin's plane."],
        FakeNer({"Vladimir Putin": "PERSON", "Putin": "PERSON"}),
        CFG,
        RES,
    )[0]
    assert {(m.id, m.kb_id) for m in ms} == {("wikidata:Q7747", "wikidata:Q7747")}
    (entity,) = logic.entities_of(ms)
    assert (entity.name, entity.type, entity.mentions) == ("Vladimir Putin", "PERSON", 3)


def test_a_surname_shared_by_two_people_of_the_article_links_to_neither() -> None:
    text = "Bill Clinton spoke. Clinton left. Hillary Clinton came. Clinton stayed."
    ms = logic.mentions_of_texts(
        [text],
        FakeNer({"Bill Clinton": "PERSON", "Hillary Clinton": "PERSON", "Clinton": "PERSON"}),
        CFG,
        RES,
    )[0]
    full = {m.id for m in ms if m.text != "Clinton"}
    short = {m.id for m in ms if m.text == "Clinton"}
    assert len(full) == 2 and len(short) == 1 and not short & full


def test_without_fixes_the_model_labels_stand() -> None:
    bare = Resources(aliases=Aliases.empty(), gazetteer=None, fixes=frozenset())
    assert mentions("Drones hit Kyiv.", {"Kyiv": "PERSON"}, bare) == [("Kyiv", "PERSON", "Kyiv")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "PUTIN MEETS LUKASHENKA IN MINSK\n\nPutin met Lukashenka in Minsk.",
            "Putin meets Lukashenka in Minsk\n\nPutin met Lukashenka in Minsk.",
        ),
        ("KYIV, Ukraine (AP) — Drones hit Kyiv.", "Kyiv, Ukraine (AP) — Drones hit Kyiv."),
        (
            "NATO SUMMIT OPENS IN VILNIUS\n\nNATO leaders met.",
            "NATO summit opens in vilnius\n\nNATO leaders met.",
        ),
        ("Nothing in capitals here.", "Nothing in capitals here."),
    ],
)
def test_truecase_restores_capital_lines_keeping_every_offset(text: str, expected: str) -> None:
    assert truecase(text) == expected
    assert len(truecase(text)) == len(text)


def test_model_sees_truecased_text_but_offsets_point_into_the_original() -> None:
    text = "PUTIN VISITS MINSK\n\nPutin went to Minsk."
    ms = logic.mentions_of_texts([text], FakeNer({"Putin": "PERSON", "Minsk": "GPE"}), CFG, RES)[0]
    assert [m.text for m in ms] == ["PUTIN", "MINSK", "Putin", "Minsk"]
    assert ms[0].name == "Vladimir Putin"


@pytest.mark.parametrize("size", [10, 500, 4000])
def test_chunks_cover_the_text_exactly_and_stay_under_the_limit(size: int) -> None:
    text = ("Kyiv was hit.\n\nA line\nwith words. " * 300)[: size * 7]
    chunks = logic.chunk_offsets(text, size)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(text)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(chunks))
    assert all(e - s <= size for s, e in chunks)


def test_a_long_article_is_cut_into_pieces_with_offsets_into_the_whole_body() -> None:
    para = "Drones hit Kyiv again. " * 40
    text = "\n\n".join([para] * 50)  # ~46 kB
    cfg = EnrichSettings(chunk_chars=2000)
    ner = FakeNer({"Kyiv": "GPE"})
    (ms,) = logic.mentions_of_texts([text], ner, cfg, RES)
    assert len(ms) == 2000
    assert all(text[m.start : m.end] == "Kyiv" for m in ms)
    assert max(len(t) for t in ner.calls[0]) <= 2000


def _article(body: str, language: str | None = None) -> UniqueArticle:
    return UniqueArticle(
        id="a1",
        trace=Trace(ingest_id="i", source="s"),
        source="s",
        body=body,
        language=language,
        event_id="e",
        content_hash="h",
        ingested_at=datetime(2024, 1, 1, tzinfo=UTC),
    )


def test_enrich_batch_skips_non_english_articles_and_flags_cut_ones() -> None:
    cfg = EnrichSettings(max_chars=1000)
    arts = [
        _article("Drones hit Kyiv."),
        _article("Drohnen trafen Kyiv.", "de"),
        _article("Drones hit Kyiv. " * 200, "en-GB"),
    ]
    ner = FakeNer({"Kyiv": "GPE"})
    out = logic.enrich_batch(arts, ner, cfg, RES)
    assert all(isinstance(o, EnrichedArticle) for o in out)
    en, de, long = out
    assert (
        isinstance(en, EnrichedArticle)
        and isinstance(de, EnrichedArticle)
        and isinstance(long, EnrichedArticle)
    )
    assert [e.name for e in en.entities] == ["Kyiv"] and not en.ner_truncated
    assert de.entities == [] and de.mentions == []
    assert long.ner_truncated and long.mentions[-1].end <= 1000
    assert len(ner.calls) == 1  # one model call for the batch


@pytest.mark.parametrize(
    ("language", "english"), [(None, True), ("en", True), ("EN_us", True), ("de", False), ("", True)]
)
def test_is_english(language: str | None, english: bool) -> None:
    assert logic.is_english(language) is english


def test_default_fixes_are_a_subset_of_the_known_ones() -> None:
    from services.enrich.resources import ALL_FIXES

    assert DEFAULT_FIXES <= ALL_FIXES


def test_pieces_go_to_the_model_in_calls_of_bounded_size() -> None:
    from services.enrich.logic import _call_groups

    groups = _call_groups(["a" * 40, "b" * 30, "c" * 50, "d" * 200, "e"], budget=100)
    assert [[len(p) for p in g] for g in groups] == [[40, 30], [50], [200], [1]]
    assert _call_groups([], budget=100) == []
