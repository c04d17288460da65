"""Knowledge-base candidates for one mention, and the choice between them (pure; no article state here).

A mention is compared with the KB three ways, most trusted first: a curated alias, any alias of the exact
(case/accent/period-folded) spelling - an entry's own name before an alternate one -, and the
transliteration-invariant key. The key is tried only when no KB entry of any type has the exact spelling
("Columbia" must not become Colombia) and only within the mention's own type family.

Type flips: a country or US state typed ORG ("Russia said") is still the country; a city typed ORG is not the
city (a city's club, a city's newspaper); a curated organisation typed GPE ("the EU") is still itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from services.enrich.canonical import fold, phonetic
from services.enrich.kb import KbEntry, KnowledgeBase, family

# Invariant-key (fuzzy) links to cities only for cities at least this big: small towns' names are too close to
# everything else.
MIN_FUZZY_CITY = 100_000
TIER_CURATED, TIER_NAME, TIER_ALT, TIER_KEY = 4, 3, 2, 1
_STATE_OF = re.compile(
    r"^(?:[Tt]he\s+)?(?:State|Commonwealth|Kingdom|Republic|Sultanate|Emirate) of (?:the )?(.+)$"
)


@dataclass(frozen=True)
class Choice:
    entry: KbEntry
    tier: int


def compatible(label: str, entry: KbEntry, tier: int) -> bool:
    """May a mention the model typed ``label`` name ``entry``?"""
    fam, efam = family(label), family(entry.type)
    if label == "ORG" and efam == "place":
        return entry.kind in ("country", "state", "continent") or (
            entry.kind == "curated" and tier >= TIER_NAME
        )
    if fam == "place" and efam == "org":
        return tier == TIER_CURATED
    if fam == "fac" and efam == "place":
        return False
    return fam == efam


def candidates(kb: KnowledgeBase, label: str, name: str) -> list[Choice]:
    """Every KB entry ``name`` may refer to as a ``label`` mention, with how it was found."""
    key = fold(name)
    if not key:
        return []
    out: list[Choice] = []
    cur = kb.curated.get(key)
    if cur is not None and compatible(label, kb.entries[cur], TIER_CURATED):
        out.append(Choice(kb.entries[cur], TIER_CURATED))
    exact = kb.names.get(key, [])
    for i in exact:
        tier = TIER_NAME if (key, i) in kb.primary else TIER_ALT
        e = kb.entries[i]
        if i != cur and compatible(label, e, tier):
            out.append(Choice(e, tier))
    if out or exact:
        return out
    m = _STATE_OF.match(name)
    # "the State of Texas", "Kingdom of Saudi Arabia": the place itself, also typed ORG ("The State of Ohio" as a
    # party to a case is the state, as "Russia said" is the country)
    if m and family(label) in ("place", "org"):
        return [c for c in candidates(kb, label, m.group(1)) if c.entry.kind in ("country", "state")]
    for i in kb.keys.get(phonetic(name), []):
        e = kb.entries[i]
        if family(e.type) != family(label) or (e.kind == "city" and e.prior < MIN_FUZZY_CITY):
            continue
        out.append(Choice(e, TIER_KEY))
    return out


def effective_tier(c: Choice, choices: list[Choice]) -> int:
    """An alternate name of a place ten times more prominent than every place of that name counts as a name:
    "Calcutta" is Kolkata (4.6M), not the small town whose own name it is."""
    if c.tier == TIER_ALT:
        names = [o.entry.prior for o in choices if o.tier == TIER_NAME]
        if names and c.entry.prior >= 10 * max(names):
            return TIER_NAME
    return c.tier


def choose(choices: list[Choice], countries: Collection[str] = ()) -> Choice | None:
    """The best choice: most trusted tier, then one in a country the article already names, then the prior."""
    if not choices:
        return None
    return max(
        choices,
        key=lambda c: (
            effective_tier(c, choices),
            bool(c.entry.country) and c.entry.country in countries,
            c.entry.prior,
        ),
    )
