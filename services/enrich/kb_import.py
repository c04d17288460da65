"""``newsflow kb import DUMP``: a Wikidata JSON dump -> a knowledge-base file the enrich worker links to.

Streams the dump (``.json``, ``.json.gz``, ``.json.bz2``: Wikidata's format, one entity per line inside a JSON
array) and keeps humans, organisations and places that have an English Wikipedia article, with their labels
and aliases in the configured languages and their sitelink count as the prior. The output is JSON lines
(gzip when the name ends in ``.gz``) of ``{"kb_id", "name", "type", "aliases", "prior", "geonames"}``, loaded
into memory; or, when the name ends in ``.sqlite``, an indexed database the worker reads names from on demand
(for imports of millions of entities). Point ``NEWSFLOW_ENRICH__KB_PATH`` at it. An entity with a GeoNames id (P1566) adds its names to the shipped GeoNames
place instead of becoming a second entry. A malformed line is reported with its number and skipped.
"""

from __future__ import annotations

import bz2
import gzip
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

# "instance of" (P31) values -> OntoNotes type. Wikidata's class tree is not walked (that needs the whole graph):
# these are the classes most entities of each kind are directly an instance of.
INSTANCE_TYPES: dict[str, str] = {
    "Q5": "PERSON",  # human
    "Q43229": "ORG",  # organization
    "Q4830453": "ORG",  # business
    "Q783794": "ORG",  # company
    "Q891723": "ORG",  # public company
    "Q6881511": "ORG",  # enterprise
    "Q7278": "ORG",  # political party
    "Q484652": "ORG",  # international organization
    "Q327333": "ORG",  # government agency
    "Q2659904": "ORG",  # government organization
    "Q17149090": "ORG",  # armed organization
    "Q11032": "ORG",  # newspaper
    "Q1002697": "ORG",  # periodical
    "Q1616075": "ORG",  # television station
    "Q192283": "ORG",  # news agency
    "Q163740": "ORG",  # nonprofit organization
    "Q3918": "ORG",  # university
    "Q476028": "ORG",  # association football club
    "Q6256": "GPE",  # country
    "Q3624078": "GPE",  # sovereign state
    "Q515": "GPE",  # city
    "Q1549591": "GPE",  # big city
    "Q5119": "GPE",  # capital
    "Q486972": "GPE",  # human settlement
    "Q3957": "GPE",  # town
    "Q532": "GPE",  # village
    "Q10864048": "GPE",  # first-level administrative division
    "Q35657": "GPE",  # state of the United States
    "Q82794": "LOC",  # geographic region
    "Q23442": "LOC",  # island
    "Q8502": "LOC",  # mountain
    "Q4022": "LOC",  # river
    "Q165": "LOC",  # sea
    "Q5107": "LOC",  # continent
}


@dataclass
class ImportReport:
    lines: int = 0
    entities: int = 0
    kept: int = 0
    bad_lines: list[int] = field(default_factory=list)


def open_dump(path: Path) -> IO[str]:
    """The dump as text, whatever its compression (by the file name)."""
    if path.name.endswith(".bz2"):
        return bz2.open(path, "rt", encoding="utf-8")
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def _values(obj: Any, languages: Iterable[str]) -> list[str]:
    out: list[str] = []
    if not isinstance(obj, dict):
        return out
    for lang in languages:
        got = obj.get(lang)
        for v in got if isinstance(got, list) else [got]:
            if isinstance(v, dict) and isinstance(v.get("value"), str) and v["value"] not in out:
                out.append(v["value"])
    return out


def _claim_ids(entity: dict[str, Any], prop: str) -> list[str]:
    out = []
    for claim in (entity.get("claims") or {}).get(prop) or []:
        value = ((claim.get("mainsnak") or {}).get("datavalue") or {}).get("value")
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            out.append(value["id"])
        elif isinstance(value, str):
            out.append(value)
    return out


def convert(entity: dict[str, Any], languages: Iterable[str]) -> dict[str, Any] | None:
    """The KB record of one Wikidata entity, or None when it is not a kept kind or has no enwiki article."""
    if entity.get("type") != "item" or not isinstance(entity.get("id"), str):
        return None
    sitelinks = entity.get("sitelinks") or {}
    if "enwiki" not in sitelinks:
        return None
    types = [INSTANCE_TYPES[q] for q in _claim_ids(entity, "P31") if q in INSTANCE_TYPES]
    if not types:
        return None
    langs = list(languages)
    labels = _values(entity.get("labels"), langs)
    if not labels:
        return None
    aliases = [a for a in labels[1:] + _values(entity.get("aliases"), langs) if a != labels[0]]
    rec: dict[str, Any] = {
        "kb_id": f"wikidata:{entity['id']}",
        "name": labels[0],
        "type": "PERSON" if "PERSON" in types else ("ORG" if "ORG" in types else types[0]),
        "aliases": list(dict.fromkeys(aliases)),
        "prior": len(sitelinks),
    }
    geonames = _claim_ids(entity, "P1566")
    if geonames:
        rec["geonames"] = geonames[0]
    return rec


def records(lines: Iterable[str], languages: Iterable[str], report: ImportReport) -> Iterator[dict[str, Any]]:
    """KB records of a dump's lines; a malformed line is logged with its number and skipped."""
    langs = list(languages)
    for n, line in enumerate(lines, 1):
        report.lines = n
        text = line.strip().rstrip(",")
        if text in ("", "[", "]"):
            continue
        try:
            entity = json.loads(text)
            if not isinstance(entity, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            report.bad_lines.append(n)
            log.warning("kb import: malformed line=%d error=%s", n, str(exc)[:200])
            continue
        report.entities += 1
        rec = convert(entity, langs)
        if rec is not None:
            report.kept += 1
            yield rec


def import_dump(dump: Path, out: Path, languages: Iterable[str] = ("en",)) -> ImportReport:
    """Write the KB file ``out`` from the Wikidata dump ``dump`` (see the module docstring)."""
    report = ImportReport()
    if out.suffix == ".sqlite":  # the on-disk form: worker memory stays flat whatever the size
        from services.enrich.kb import write_sqlite

        with open_dump(dump) as src:
            write_sqlite(records(src, languages, report), out)
        return report
    tmp = out.with_name(out.name + ".part")
    opener: Any = gzip.open if out.name.endswith(".gz") else open
    with open_dump(dump) as src, opener(tmp, "wt", encoding="utf-8") as dst:
        for rec in records(src, languages, report):
            dst.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return report
