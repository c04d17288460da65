"""Canonical ids and names for one article's entities: curated aliases, full person names and the short forms
that refer back to them, gazetteer names of places, acronyms of organisations named in full."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from services.common.records import Entity, Mention
from services.enrich.canonical import PersonName, entity_id, fold, person_name, phonetic, strip_possessive
from services.enrich.labels import decide_labels
from services.enrich.model import Span
from services.enrich.resources import Resources


def _initials(name: str) -> str:
    return "".join(
        w[0] for w in name.split() if w[:1].isupper() and w.lower() not in ("of", "the", "and", "for")
    )


def resolve(text: str, spans: Sequence[Span], res: Resources) -> list[Mention]:
    """Mentions with canonical ids and names for one article's model spans (offsets into ``text``)."""
    cands = decide_labels(text, spans, res)
    ids: list[str] = [""] * len(cands)
    names: list[str] = [""] * len(cands)
    persons: list[tuple[int, PersonName]] = []  # full person names in the article, by position
    # 1) what the alias file names, and full person names
    for i, c in enumerate(cands):
        if c.curated is not None:
            ids[i], names[i] = c.curated.id, c.curated.name
        if c.label == "PERSON":
            p = person_name(c.text)
            if p is not None and p.is_full:
                persons.append((i, p))
                if c.curated is None:
                    names[i] = " ".join(p.words)
                    ids[i] = entity_id("PERSON", names[i])
    # 2) the rest: a surname alone takes the nearest full name before it (else after it) in the article
    for i, c in enumerate(cands):
        if ids[i]:
            continue
        if c.label == "PERSON":
            p = person_name(c.text)
            words = p.words if p else (strip_possessive(c.text),)
            key = phonetic(words[-1])
            initial = fold(words[0])[:1] if len(words) > 1 else None
            match = [
                j
                for j, q in persons
                if phonetic(q.surname) == key and (initial is None or q.initial == initial)
            ]
            if match:
                before = [j for j in match if j < i]
                j = before[-1] if before else match[0]
                ids[i], names[i] = ids[j], names[j]
            else:
                names[i] = " ".join(words)
                ids[i] = entity_id("PERSON", names[i])
            continue
        name = re.sub(r"^(?:the|The)\s+", "", strip_possessive(c.text))
        if c.label in ("GPE", "LOC") and res.gazetteer is not None:
            place = res.gazetteer.place(name)
            if place is not None and fold(place.name) != fold(name):
                name = place.name  # an alternate name: "Kiev" -> "Kyiv"
        names[i], ids[i] = name, entity_id(c.label, name)
    if "acronyms" in res.fixes:
        orgs = {
            _initials(names[i]): i
            for i, c in enumerate(cands)
            if c.label == "ORG" and len(names[i].split()) >= 2 and c.curated is None
        }
        for i, c in enumerate(cands):
            if c.label == "ORG" and c.curated is None and c.text.isupper() and 2 <= len(c.text) <= 6:
                full = orgs.get(c.text)
                if full is not None:
                    ids[i], names[i] = ids[full], names[full]
    # 3) one name per entity in the article: the curated one, else the most complete form
    best: dict[str, str] = {c.curated.id: c.curated.name for c in cands if c.curated is not None}
    curated = set(best)
    for i in range(len(cands)):
        cur = best.get(ids[i])
        if cur is None or (
            ids[i] not in curated and (len(names[i].split()), len(names[i])) > (len(cur.split()), len(cur))
        ):
            best[ids[i]] = names[i]
    return [
        Mention(text=c.text, type=c.label, start=c.start, end=c.end, id=ids[i], name=best[ids[i]])
        for i, c in enumerate(cands)
    ]


def entities_of(mentions: Sequence[Mention]) -> list[Entity]:
    """One entity per id: its canonical name, its most frequent type, mention count and other surface forms."""
    counts: Counter[str] = Counter()
    types: dict[str, Counter[str]] = defaultdict(Counter)
    names: dict[str, str] = {}
    aliases: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        counts[m.id] += 1
        types[m.id][m.type] += 1
        names.setdefault(m.id, m.name)
        surface = strip_possessive(m.text)
        if surface != m.name:
            aliases[m.id].add(surface)
    return [
        Entity(
            id=i,
            name=names[i],
            type=types[i].most_common(1)[0][0],
            mentions=counts[i],
            aliases=sorted(aliases[i]),
        )
        for i in sorted(counts, key=lambda k: (-counts[k], k))
    ]
