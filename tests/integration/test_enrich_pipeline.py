"""Entities through the real enrich worker, broker and search server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ops.embedded import Stack
from tests.conftest import SEEDS
from tests.harness import Pipeline, make_pipeline

pytestmark = pytest.mark.integration

PLACES = {"Kyiv", "Kiev", "Minsk", "Moscow", "Belarus", "Ukraine", "Russia"}
GERMAN = (
    "Die Stadtverwaltung von Freiburg hat am Dienstag einen neuen Haushalt für die öffentlichen Bibliotheken "
    "beschlossen. Nach einer langen Debatte über Öffnungszeiten und die Heizkosten alter Gebäude im Winter "
    "stimmte der Gemeinderat mit großer Mehrheit zu. Bürgermeister Martin Horn sprach von einem guten Tag."
)


@pytest.fixture(scope="module")
def enriched(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    tmp = tmp_path_factory.mktemp("enrich")
    p = make_pipeline(stack, tmp).start()
    p.send_paths(SEEDS)
    p.send_bytes("german.txt", GERMAN.encode())
    # 002 (which spells Kiev) is a recorded duplicate, not a document: another outlet's spelling, indexed.
    p.send_bytes(
        "kiev.txt",
        b"Ukrainian President Volodymyr Zelensky spoke in Kiev on Tuesday about the drone "
        b"attacks on power plants, while Belarusian leader Alexander Lukashenko met Russian "
        b"officials in Minsk, the agencies reported.",
    )
    paragraph = (
        "Officials in Springfield met with Governor Maria Lopez on Monday to discuss the budget of "
        "the Illinois Department of Transportation and the future of Chicago's bridges. "
    )
    p.send_bytes("huge.txt", (paragraph * (1_000_000 // len(paragraph))).encode())
    p.wait(timeout_s=300)
    yield p
    p.stop()


def by_source(p: Pipeline, name: str) -> dict:
    return next(d for d in p.documents() if Path(d["source"]).name.startswith(name))


def test_spelling_variants_share_one_id_across_documents(enriched: Pipeline) -> None:
    ids: dict[str, set[str]] = {}
    for d in enriched.documents():
        for e in d["entities"]:
            for surface in [e["name"], *e["aliases"]]:
                ids.setdefault(surface, set()).add(e["id"])
    for variants in (
        ["Kyiv", "Kiev"],
        ["Lukashenka", "Lukashenko", "Alexander Lukashenko"],
        ["Zelenskiy", "Zelenskyy", "Zelensky", "Volodymyr Zelensky"],
    ):
        present = [v for v in variants if v in ids]
        assert len(present) >= 2, f"seeds spell {variants}"
        assert len(set().union(*(ids[v] for v in present))) == 1, f"{present} -> one id"


def test_no_place_is_typed_person_and_putin_is_a_person(enriched: Pipeline) -> None:
    ents = [e for d in enriched.documents() for e in d["entities"]]
    assert not [e for e in ents if e["type"] == "PERSON" and e["name"] in PLACES]
    assert {e["type"] for e in ents if e["name"] == "Vladimir Putin"} == {"PERSON"}
    assert all(d["persons_ids"] for d in enriched.documents() if d["language"] == "en")


def test_non_english_text_is_tagged_with_its_language_and_not_run_through_the_english_model(
    enriched: Pipeline,
) -> None:
    d = by_source(enriched, "german")
    assert d["language"] == "de"
    assert d["entities"] == []


def test_a_one_megabyte_article_is_indexed_with_ner_bounded_and_flagged(enriched: Pipeline) -> None:
    d = by_source(enriched, "huge")
    assert len(d["body"]) > 900_000
    assert d["ner_truncated"] is True
    assert "Maria Lopez" in d["persons"]


def test_entities_carry_knowledge_base_ids_and_search_accepts_one(enriched: Pipeline) -> None:
    from services.index.search import search

    docs = enriched.documents()
    linked = {(e["kb_id"], e["kb_name"]) for d in docs for e in d["entities"] if e.get("kb_id")}
    assert ("wikidata:Q7747", "Vladimir Putin") in linked
    kyiv = {e["kb_id"] for d in docs for e in d["entities"] if e["name"] == "Kyiv"}
    assert kyiv == {"geonames:703448"}, "Kyiv and Kiev: one GeoNames id in every document"
    with_putin = [d for d in docs if any(e.get("kb_id") == "wikidata:Q7747" for e in d["entities"])]
    es = enriched.es()
    try:
        found = search(es, enriched.settings.es.alias, "*", entity="wikidata:Q7747", size=50)
    finally:
        es.close()
    assert with_putin and found["total_documents"] == len(with_putin)


@pytest.mark.parametrize(
    "content", [None, b'{"kb_id": "wikidata:Q1", "name": "X", "type": "ORG"}\n{truncated']
)
def test_the_enrich_worker_stops_at_start_on_a_missing_or_corrupt_kb_file(
    tmp_path: Path, content: bytes | None
) -> None:
    import os
    import subprocess
    import sys

    kb = tmp_path / "kb.jsonl"
    if content is not None:
        kb.write_bytes(content)
    env = {**os.environ, "NEWSFLOW_ENRICH__KB_PATH": str(kb)}
    got = subprocess.run(
        [sys.executable, "-m", "services.cli", "worker", "enrich"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert got.returncode != 0
    expected = "does not exist" if content is None else "kb.jsonl:2: not JSON"
    assert expected in got.stderr + got.stdout
