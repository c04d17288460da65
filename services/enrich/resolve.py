"""Canonical ids and names for one article's entities: linked to the knowledge base where it knows them, else
deterministic local ids.

Per article, in order:

1. full forms: a full person name ("Vladimir Putin") by its name key, other names by the KB's aliases and the
   transliteration-invariant key (:mod:`.link`); a demonym links to its country and keeps its NORP type;
2. places and organisations with several candidates: the one in a country the article already names, else the
   most prominent ("Paris" with "Texas" in the article is Paris, Texas);
3. short forms refer back within the article, only when exactly one candidate fits: a surname alone to the one
   full name with that surname ("Clinton" with both Bill and Hillary named stays apart from both), an
   organisation's last words ("Congress" after "Indian National Congress"), an acronym of a name in full,
   a place name contained in exactly one place named in full ("Congo" after "Republic of the Congo") unless the
   full name only adds a compass word or a feature ("Yorkshire" is not North Yorkshire, "Casamance" not the
   Casamance River); an ordinary word ("the Court") stands for the nearest organisation named before it that
   contains it, a compass word alone ("the South") for the one place named with it, else each for itself;
4. names the KB does not know: ``local:<family>:<digest>`` of the invariant key, so spellings merge across
   documents under the same key and family only (never across first names, initials or suffixes); one unknown
   name typed ORG in one sentence and GPE/LOC in another keeps one id in the article, and a one-word name typed
   PERSON in one sentence and ORG/place/product in another is that thing unless a person named in full carries
   the word.

The id is the kb_id when linked ("geonames:703448", "wikidata:Q7747", "newsflow:hamas"), a demonym's is
``<country kb_id>#norp``; ``kb_id``/``kb_name`` are set only when linked.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.common.records import Entity, Mention
from services.common.text import digest
from services.enrich.canonical import (
    TITLES,
    PersonName,
    fold,
    local_id,
    person_name,
    phonetic,
    strip_possessive,
)
from services.enrich.kb import KbEntry, KnowledgeBase, family
from services.enrich.labels import IS_A, Candidate, decide_labels
from services.enrich.link import (
    TIER_ALT,
    TIER_CURATED,
    TIER_KEY,
    TIER_NAME,
    Choice,
    candidates,
    choose,
    effective_tier,
)
from services.enrich.model import Span
from services.enrich.resources import Resources


@dataclass
class _Link:
    id: str = ""
    name: str = ""
    kb: KbEntry | None = None
    tier: int = 0  # how the KB entry was found (link.TIER_*); 0 = not linked

    @property
    def weak(self) -> bool:
        """Not linked, or linked only through an alternate name or the invariant key: an article's own full
        name may override it ("Korea" after "South Korea")."""
        return self.tier < TIER_NAME


def _initials(name: str) -> str:
    return "".join(
        w[0] for w in name.split() if w[:1].isupper() and w.lower() not in ("of", "the", "and", "for")
    )


def _surface(text: str) -> str:
    return re.sub(r"^(?:the|The)\s+", "", strip_possessive(text))


def _linked(e: KbEntry, tier: int = TIER_NAME) -> _Link:
    return _Link(e.kb_id, e.name, e, tier)


def resolve(text: str, spans: Sequence[Span], res: Resources) -> list[Mention]:
    """Mentions with canonical ids and names for one article's model spans (offsets into ``text``)."""
    cands = decide_labels(text, spans, res)
    links = link_article(cands, res.kb, text)
    best = _best_names(cands, links)
    return [
        Mention(
            text=c.text,
            type=c.label,
            start=c.start,
            end=c.end,
            id=lk.id,
            name=best[lk.id],
            kb_id=lk.kb.kb_id if lk.kb is not None else None,
            kb_name=lk.kb.name if lk.kb is not None else None,
        )
        for c, lk in zip(cands, links, strict=True)
    ]


def link_article(cands: Sequence[Candidate], kb: KnowledgeBase | None, text: str = "") -> list[_Link]:
    """One link per candidate (see the module docstring for the order of the passes); ``text`` is the
    article's: a one-word name the KB does not know that the article also uses as an ordinary lower-case word
    ("Court", "State") gets an id of this article only, so it never merges across documents."""
    links = [_Link() for _ in cands]
    persons: list[tuple[int, PersonName]] = []
    pending: dict[int, list[Choice]] = {}
    for i, c in enumerate(cands):
        name = _surface(c.text)
        if c.label == "PERSON":
            p = person_name(c.text)
            if p is not None and p.is_full:
                persons.append((i, p))
                hits = kb.persons.get(p.key(), []) if kb is not None else []
                if hits:
                    best = max((kb.entries[h] for h in hits), key=lambda e: e.prior)  # type: ignore[union-attr]
                    links[i] = _linked(best, TIER_CURATED)
                else:
                    links[i] = _Link(local_id("person", p.key()), " ".join(p.words))
            continue
        if c.label == "NORP" and kb is not None:
            country = kb.demonyms.get(fold(name))
            if country is not None:
                e = kb.entries[country]
                links[i] = _Link(f"{e.kb_id}#norp", name, e, TIER_CURATED)
                continue
        if kb is not None and c.state_code:  # "Paramus, NJ": marked by labels, where the town is checked
            links[i] = _linked(kb.entries[kb.state_codes[c.text]], TIER_CURATED)
            continue
        choices = candidates(kb, c.label, name) if kb is not None else []
        if len(choices) == 1 or (choices and _clear(choices)):
            chosen = choices[0] if len(choices) == 1 else choose(choices)
            assert chosen is not None
            links[i] = _linked(chosen.entry, chosen.tier)
        elif choices:
            pending[i] = choices
    # 2) ambiguous names: the article's countries decide, else the prior
    countries = {lk.kb.country for lk in links if lk.kb is not None and lk.kb.country}
    for i, choices in pending.items():
        chosen = choose(choices, countries)
        assert chosen is not None
        links[i] = _linked(chosen.entry, chosen.tier)
    if kb is not None and kb.namesakes:
        _state_or_city(cands, links, kb, text)
    # 3) local ids of the names in full the KB does not know (short forms may refer to them), then short forms
    # within the article, then local ids of the rest
    fam_votes: dict[str, Counter[str]] = defaultdict(Counter)
    for i, c in enumerate(cands):
        if not links[i].id:
            fam_votes[phonetic(_surface(c.text))][family(c.label)] += 1
    scope = _ArticleScope(text)
    _local_ids(cands, links, fam_votes, scope, _full_form)
    _person_short_forms(cands, links, persons, kb, scope)
    _org_short_forms(cands, links, scope)
    _defined_abbreviations(cands, links, text)
    _abbreviated_heads(cands, links)
    _place_short_forms(cands, links)
    _compass_short_forms(cands, links, scope)
    unresolved = [i for i, lk in enumerate(links) if not lk.id]
    _local_ids(cands, links, fam_votes, scope, lambda c: True)
    _described_as(cands, links, scope, unresolved)
    _one_id_per_unknown_name(cands, links)
    _person_flip_of_one_word(cands, links)
    _known_as(cands, links, text)
    return links


_STATE_AFTER = re.compile(r"\s+[Ss]tate\b")
_STATE_BEFORE = re.compile(r"(?:\b[Ss]tate of|\bupstate)\s+$")
_CITY_AFTER = re.compile(r",?\s+(?:D\.\s?C\.|DC\b|City\b)")


def _state_or_city(cands: Sequence[Candidate], links: list[_Link], kb: KnowledgeBase, text: str) -> None:
    """A US state and the big city of its name ("New York", "Washington"): the state when the article says so
    ("Washington state", "the state of New York", "Albany, New York") or names another city of that state and
    not the city in full ("New York City"), else the city, the usual sense of the bare name."""
    for i, c in enumerate(cands):
        lk = links[i]
        if lk.kb is None or lk.tier == TIER_KEY:
            continue
        me = kb.by_id.get(lk.kb.kb_id)
        other = kb.namesakes.get(me) if me is not None else None
        if me is None or other is None:
            continue
        state, city = kb.entries[me], kb.entries[other]
        if state.kind != "state":
            state, city = city, state
        if fold(_surface(c.text)) != fold(state.name) or _CITY_AFTER.match(text, c.end):
            links[i] = _linked(city, lk.tier) if _CITY_AFTER.match(text, c.end) else lk
            continue
        apposition = any(  # "Albany, New York": a city, then its state
            links[j].kb is not None
            and links[j].kb.kind == "city"  # type: ignore[union-attr]
            and text[cands[j].end : c.start] in (", ", ",")
            for j in range(max(0, i - 2), i)
        )
        said = _STATE_AFTER.match(text, c.end) or _STATE_BEFORE.search(text, max(0, c.start - 20), c.start)
        other_city = any(
            lk2.kb is not None
            and lk2.kb.kind == "city"
            and lk2.kb.country == "US"
            and lk2.kb.region == state.region
            and lk2.kb.kb_id != city.kb_id
            for lk2 in links
        )
        # the article names the city in full ("New York City"): the bare name is the city's short form, whatever
        # other towns of the state it names ("Manhattan")
        city_named = any(
            lk2.kb is not None and lk2.kb.kb_id == city.kb_id and fold(_surface(d.text)) != fold(state.name)
            for d, lk2 in zip(cands, links, strict=True)
        )
        links[i] = _linked(state if said or apposition or (other_city and not city_named) else city, lk.tier)


def _full_form(c: Candidate) -> bool:
    return c.label != "PERSON" and len(fold(_surface(c.text)).split()) >= 2


_UNIVERSITY = re.compile(r"\b(?:University|College) of\b")
_CAMPUS = re.compile(r" at ([A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,2})")
_INDEFINITE = re.compile(r"\b(?:a|an)\s+$")
_NP_END = re.compile(r"\s*(?:[.,;:!?)\n]|$|\s(?:and|or|in|on|by|since|for|with|that|which)\b)")


class _ArticleScope:
    """Which one-word names are ordinary words in this article (lower-case there too), and the article's tag."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._words: set[str] | None = None
        self._after_the: set[str] = set()
        self._seen: dict[str, bool] = {}

    def generic(self, name: str) -> bool:
        """A one-word name that is an ordinary word here: lower-case elsewhere in the article, a bare title
        ("Justice"), or a definite description ("the Court")."""
        w = name.strip()
        if " " in w or not w:
            return False
        hit = self._seen.get(w)
        if hit is None:
            if self._words is None:
                self._words = set(re.findall(r"\b[a-z]+\b", self.text))
                self._after_the = set(re.findall(r"\b[Tt]he (\S+?)(?=\W|$)", self.text))
            hit = w.lower() in self._words or fold(w) in TITLES or w in self._after_the
            self._seen[w] = hit
        return hit

    def key(self, key: str, name: str) -> str:
        return f"{key}@{digest(self.text, 12)}" if self.text and self.generic(name) else key

    def predicate(self, start: int, end: int) -> bool:
        """A name that heads an indefinite noun phrase ("it is a UNESCO World Heritage Site."): a class things
        belong to, not one entity - two squares that are each "a World Heritage Site" are not one thing."""
        return bool(
            self.text
            and _INDEFINITE.search(self.text, max(0, start - 4), start)
            and _NP_END.match(self.text, end)
        )


def _local_ids(
    cands: Sequence[Candidate],
    links: list[_Link],
    fam_votes: dict[str, Counter[str]],
    scope: _ArticleScope,
    which: Callable[[Candidate], bool],
) -> None:
    """Local ids, one family per key in the article (an unknown name typed ORG here and GPE there)."""
    for i, c in enumerate(cands):
        if links[i].id or not which(c):
            continue
        name = _surface(c.text)
        key = phonetic(name)
        votes = fam_votes[key]
        fam = max(votes, key=lambda f: (votes[f], f == "place", f)) if votes else family(c.label)
        own = scope.key(key, name)
        campus = _CAMPUS.match(scope.text, c.end) if _UNIVERSITY.search(name) else None
        if (
            campus is not None
        ):  # "University of North Carolina at Greensboro": one university of several campuses
            own = f"{own}|{phonetic(campus.group(1))}"
        if scope.predicate(c.start, c.end):
            own = f"{key}@{digest(scope.text, 12)}:{c.start}"  # this occurrence only
        links[i] = _Link(local_id(fam, own), name)


def _clear(choices: list[Choice]) -> bool:
    """One choice is better than every other before any context: a higher tier (a curated alias, a name over
    an alternate name) or a prior ten times larger."""
    ranked = sorted(choices, key=lambda c: (effective_tier(c, choices), c.entry.prior), reverse=True)
    a, b = ranked[0], ranked[1]
    ta, tb = effective_tier(a, choices), effective_tier(b, choices)
    return ta > tb or (ta >= TIER_NAME and a.entry.prior >= 10 * max(b.entry.prior, 1.0))


def _person_short_forms(
    cands: Sequence[Candidate],
    links: list[_Link],
    persons: list[tuple[int, PersonName]],
    kb: KnowledgeBase | None,
    scope: _ArticleScope,
) -> None:
    for i, c in enumerate(cands):
        if links[i].id or c.label != "PERSON":
            continue
        p = person_name(c.text)
        words = p.words if p else (strip_possessive(c.text),)
        key = phonetic(" ".join(words[1:]) if len(words) > 1 and _is_initial_word(words[0]) else words[-1])
        initial = fold(words[0])[:1] if len(words) > 1 else None
        fits = {
            links[j].id: j
            for j, q in persons
            if key in q.surname_keys and (initial is None or q.initial == initial)
        }
        if len(fits) == 1:
            links[i] = links[next(iter(fits.values()))]
            continue
        if not fits and kb is not None and key in kb.surnames:
            links[i] = _linked(kb.entries[kb.surnames[key]])
            continue
        # Unknown, or several people of that surname in the article: an id of its own (never one of theirs).
        ambiguous = "?" + ",".join(sorted(fits)) if fits else ""
        person_key = scope.key(f"|{initial or ''}|{key}{ambiguous}", " ".join(words))
        links[i] = _Link(local_id("person", person_key), " ".join(words))


_DEFINED = re.compile(r" ?\(([A-Z][A-Za-z&]{1,9})\)")


def _defined_abbreviations(cands: Sequence[Candidate], links: list[_Link], text: str) -> None:
    """An abbreviation the article defines in parentheses right after a name ("American College of Pediatricians
    (ACPeds)", "New People's Party (NPP)") stands for that name wherever the article writes it, also over the KB's
    usual sense of the letters: its capitals, in order, are initials of the name's words, the first the first."""
    defined: dict[str, int] = {}
    for j, full in enumerate(cands):
        m = _DEFINED.match(text, full.end)  # the abbreviation itself may be no span of the model's
        if m is None or not links[j].id or " " not in full.text.strip():
            continue
        abbr = m.group(1)
        caps = "".join(ch for ch in abbr if ch.isupper())
        initials = _initials(_surface(full.text))
        if len(caps) < 2 or not initials or caps[0] != initials[0]:
            continue
        rest = iter(initials)
        if all(ch in rest for ch in caps):  # a subsequence of the initials
            defined.setdefault(abbr, j)
    if not defined:
        return
    for i, c in enumerate(cands):
        k = defined.get(c.text)
        if k is not None and k != i:
            links[i] = links[k]


def _abbreviated_heads(cands: Sequence[Candidate], links: list[_Link]) -> None:
    """A name written as the initials of a longer name's first words and its head noun ("the GW Bridge" for "the
    George Washington Bridge") is the one name of the article that fits; a name the KB knows stays linked."""
    shorts = [
        (i, words)
        for i, c in enumerate(cands)
        if links[i].kb is None
        and 1 <= c.text.count(" ") <= 2
        and len(words := _surface(c.text).split()) == 2
        and words[0].isupper()
        and 2 <= len(words[0]) <= 5
    ]
    if not shorts:
        return
    fulls = [
        (j, words)
        for j, c in enumerate(cands)
        if c.label != "PERSON" and links[j].id and len(words := _surface(c.text).split()) >= 3
    ]
    for i, words in shorts:
        fits = {
            links[j].id: j
            for j, w in fulls
            if w[-1] == words[1] and _initials(" ".join(w[:-1])) == words[0] and j != i
        }
        if len(fits) == 1:
            links[i] = links[next(iter(fits.values()))]


def _is_initial_word(word: str) -> bool:
    w = word.replace(".", "")
    return len(w) == 1 and w.isalpha()


def _org_short_forms(cands: Sequence[Candidate], links: list[_Link], scope: _ArticleScope) -> None:
    """Part of an organisation's name, or its acronym, stands for the one organisation of the article named in
    full that contains it ("State" after "the US State Department", "KPA" after "Korean People's Army"); the last
    words even override the KB's usual sense ("Congress" after "Indian National Congress"). An acronym that fits
    one name in full wins over names that merely contain it ("USI" is the University of Southern Indiana, not
    "USI Art Collections"); a facility named in full has its acronym too ("KSC"). A one-word ordinary word
    ("the Court", "the State") stands for the nearest organisation named in full before it that contains it,
    else for none (an article may name three courts: a later one is not the one meant before it is named)."""
    full = [
        (j, fold(_surface(c.text)).split())
        for j, c in enumerate(cands)
        if c.label in ("ORG", "FAC") and len(fold(_surface(c.text)).split()) >= 2 and links[j].id
    ]
    if not full:
        return
    for i, c in enumerate(cands):
        if c.label != "ORG":
            continue
        name = _surface(c.text)
        words = fold(name).split()
        own = links[i]
        if own.kb is not None and not (own.kb.kind == "curated" and len(words) == 1):
            continue  # a name the KB knows (not a curated one-word sense) stays linked
        n = len(words)
        if own.kb is None:
            inside = {
                links[j].id: j
                for j, w in full
                if len(w) > n and any(w[k : k + n] == words for k in range(len(w) - n + 1))
            }
        else:
            inside = {links[j].id: j for j, w in full if len(w) > n and w[-n:] == words}
        acro = (
            {links[j].id: j for j, _ in full if _initials(_surface(cands[j].text)) == name}
            if name.isupper() and 2 <= len(name) <= 6
            else {}
        )
        inside = {k: j for k, j in inside.items() if cands[j].label == "ORG"}
        inside.pop(own.id, None)
        if own.kb is None and n == 1 and name[1:].islower() and scope.generic(name):
            before = [
                j
                for j, w in full
                if cands[j].label == "ORG"
                and cands[j].start < c.start
                and words[0] in w
                and links[j].id != own.id
            ]
            if before:
                links[i] = links[max(before, key=lambda j: cands[j].start)]
            else:
                # said before its full form: only the one organisation of the article named "<word> of ..."
                # ("the State" before "the State of X"), not one that merely ends in it or adds a tier or number
                # ("Artemis" is not "Artemis 2")
                later = {
                    links[j].id: w
                    for j, w in full
                    if cands[j].label == "ORG" and words[0] in w and links[j].id != own.id
                }
                if len(later) == 1 and next(iter(later.values()))[:2] == [words[0], "of"]:
                    top = next(iter(later))
                    links[i] = next(links[j] for j, _ in full if links[j].id == top)
            continue
        # the acronym of exactly one name in full before the longer names that start with it ("USI" beside "the
        # University of Southern Indiana" and "USI Art Collections", a part of it named after it)
        fits = acro if len(acro) == 1 else inside or acro
        if len(fits) == 1:
            links[i] = links[next(iter(fits.values()))]


# Words that make a different place of a name ("North Yorkshire" is not Yorkshire, "the Casamance River" is not
# the Casamance region, "New Mexico" not Mexico); islands are left out: "Socotra" is Socotra Island.
_COMPASS = frozenset(
    [
        "north",
        "south",
        "east",
        "west",
        "northern",
        "southern",
        "eastern",
        "western",
        "northeast",
        "northwest",
        "southeast",
        "southwest",
        "central",
        "upper",
        "lower",
        "new",
        "greater",
    ]
)
_FEATURE_HEADS = frozenset(
    [
        "river",
        "peninsula",
        "valley",
        "bay",
        "lake",
        "mountains",
        "mountain",
        "desert",
        "sea",
        "strait",
        "gulf",
        "canyon",
        "coast",
        "falls",
        "province",
        "region",
        "county",
        "district",
        "state",
        "city",
    ]
)


def _adds_qualifier(short: str, full: str) -> bool:
    """``full`` is ``short`` with a word that names another place: a compass word before, a feature after."""
    rest = re.sub(rf"\b{re.escape(short)}\b", " ", full).split()
    return bool(rest) and (rest[0] in _COMPASS or rest[-1] in _FEATURE_HEADS)


def _place_short_forms(cands: Sequence[Candidate], links: list[_Link]) -> None:
    """A place name the KB does not know (or knows only as an alternate name), contained in exactly one place
    named in full in the article ("Congo" after "Republic of the Congo") - not when the full name adds a word
    that makes another place of it ("Yorkshire" beside "North Yorkshire", "Casamance" beside "the Casamance
    River")."""
    full = [
        (j, fold(_surface(c.text))) for j, c in enumerate(cands) if family(c.label) == "place" and links[j].id
    ]
    for i, c in enumerate(cands):
        if family(c.label) != "place" or not links[i].weak:
            continue
        key = fold(_surface(c.text))
        fits = {
            links[j].id: j
            for j, k in full
            if k != key
            and (links[j].kb is None or not links[j].weak)
            and re.search(rf"\b{re.escape(key)}\b", k)
            and (links[i].kb is not None or not _adds_qualifier(key, k))
        }
        if len(fits) == 1:
            links[i] = links[next(iter(fits.values()))]


_COMPASS_WORD = re.compile(r"^(?:North|South|East|West)(?:east|west)?(?:ern)?$")


def _compass_short_forms(cands: Sequence[Candidate], links: list[_Link], scope: _ArticleScope) -> None:
    """A compass word alone as a place ("the North", "the South retaliated") stands for the one place named in
    full in the article that begins or ends with it ("North Korea", "the American Southwest"), else for a place of this article only: it names a
    different region in every article."""
    for i, c in enumerate(cands):
        name = _surface(c.text)
        own = links[i]
        if (own.id and (own.kb is None or own.kb.kind != "city")) or family(c.label) != "place":
            continue  # a town the KB knows of that name ("North") is not what a compass word alone means
        if not _COMPASS_WORD.match(name):
            continue
        head = fold(name)
        fits = {
            links[j].id: j
            for j, d in enumerate(cands)
            if j != i
            and links[j].id
            and family(d.label) == "place"
            and len(words := fold(_surface(d.text)).split()) >= 2
            and head in (words[0], words[-1])  # "North Korea", "the American Southwest"
            and "and" not in words  # "North and South Korea" names two places
        }
        if len(fits) == 1:
            links[i] = links[next(iter(fits.values()))]
        elif not own.id:
            links[i] = _Link(local_id("place", f"{phonetic(name)}@{digest(scope.text, 12)}"), name)


def _described_as(
    cands: Sequence[Candidate], links: list[_Link], scope: _ArticleScope, unresolved: Sequence[int]
) -> None:
    """An ordinary word as a name ("the Group") that no name in full explained (``unresolved``: it got only an id
    of the article) stands for the one name the article describes with that word ("Vava’u is a group of more
    than 50 islands"): the word is how the article goes on to refer to it. Two names so described, or none: the
    word keeps its id."""
    for i in unresolved:
        c = cands[i]
        name = _surface(c.text)
        if c.label == "PERSON" or " " in name or not name[1:].islower() or not scope.generic(name):
            continue
        said = re.compile(IS_A + re.escape(name.lower()) + r"s?\b")
        fits = {
            links[j].id: j
            for j, d in enumerate(cands)
            if j != i and links[j].id and d.label != "PERSON" and said.match(scope.text, d.end)
        }
        if len(fits) == 1:
            links[i] = links[next(iter(fits.values()))]


def _one_id_per_unknown_name(cands: Sequence[Candidate], links: list[_Link]) -> None:
    """Type flips do not split a name the KB does not know: the mentions of one unknown name (one invariant key)
    typed ORG here and GPE/LOC there get the id most of them have (a person or a KB entity is never touched:
    "Toronto" the team and the city stay apart); an unknown ORG that is another spelling of a place the article
    names ("Esfahan" beside "Isfahan") is that place."""
    places = {
        phonetic(_surface(c.text)): (fold(_surface(c.text)), i)
        for i, c in enumerate(cands)
        if links[i].kb is not None and family(c.label) == "place" and links[i].tier >= TIER_ALT
    }
    for i, c in enumerate(cands):
        # "Esfahan" typed ORG beside "Isfahan" the city: another spelling of the place, not the city's club (a club
        # is written as the city is)
        p = places.get(phonetic(_surface(c.text))) if c.label == "ORG" and links[i].kb is None else None
        if p is not None and p[0] != fold(_surface(c.text)):
            links[i] = links[p[1]]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cands):
        if (
            links[i].kb is None
            and family(c.label) in ("org", "place")
            and not links[i].id.startswith("local:person")
            # a compass word alone typed a place is a region ("the Southwest"), never the organisation of that word
            and not (family(c.label) == "place" and _COMPASS_WORD.match(_surface(c.text)))
        ):
            groups[phonetic(_surface(c.text))].append(i)
    for members in groups.values():
        ids = Counter(links[i].id for i in members)
        if len(ids) < 2 or len({family(cands[i].label) for i in members}) < 2:
            continue  # one type: its mentions were told apart on purpose ("the Court" of two courts)
        # the id of a name in full it was linked to ("Church of Scientology") before the majority of the name's
        # own mentions
        top = max(ids, key=lambda k: (sum(lk.id == k for lk in links), ids[k], k))
        keep = next(i for i in members if links[i].id == top)
        for i in members:
            links[i] = links[keep]


def _person_flip_of_one_word(cands: Sequence[Candidate], links: list[_Link]) -> None:
    """A one-word name the model typed PERSON here and ORG/place/product there in one article is one thing (the
    company typed PERSON in one sentence): the PERSON mention takes the one id its other mentions share, unless a
    person named in full in the article carries that word (a surname or first name alone stays the person's).
    Words match under the invariant key: a misspelling ("the Saffavid era" beside "the Safavid era") is the word."""
    singles = [
        i
        for i, c in enumerate(cands)
        if c.label == "PERSON" and links[i].kb is None and len(fold(_surface(c.text)).split()) == 1
    ]
    if not singles:
        return
    others: dict[str, set[str]] = defaultdict(set)
    for i, c in enumerate(cands):
        lk = links[i]
        # a person's id under another type, or a short form of a longer unknown name (a surname standing for a
        # full name the model typed ORG), is no evidence the word names a thing
        if (
            c.label != "PERSON"
            and lk.id
            and not lk.id.startswith("local:person")
            and (lk.kb is not None or len(fold(lk.name).split()) == 1)
            and len(fold(_surface(c.text)).split()) == 1
        ):
            others[phonetic(_surface(c.text))].add(lk.id)
    if not others:
        return
    person_words = {
        phonetic(w)
        for c in cands
        if c.label == "PERSON" and len(words := fold(_surface(c.text)).split()) >= 2
        for w in words
    }
    for i in singles:
        key = phonetic(_surface(cands[i].text))
        if key in person_words or len(ids := others.get(key, set())) != 1:
            continue
        top = next(iter(ids))
        links[i] = next(links[j] for j, d in enumerate(cands) if d.label != "PERSON" and links[j].id == top)


_ALIAS_ADVERB = r"(?:also|locally|originally|formerly|sometimes|once|now)\s+"
# "Guadeloupe, known as Gwadloup", "Jolfa (originally called New Julfa)"; the name right after, "the" may lead it
_KNOWN_AS = re.compile(
    rf"\s*[,(]\s*(?:{_ALIAS_ADVERB})?known as\s+|\s*[,(]\s*{_ALIAS_ADVERB}called\s+"
    r"|\s*[,(]\s*(?:aka|a\.k\.a\.)\s+[\"“]?"  # 'Mingo Valley Expressway, aka "Pearl Harbor Memorial Expressway"'
)
# a nickname in quotes in parentheses right after the name: 'QuickenLoans Arena ("The Q")'
_QUOTED_OPEN = re.compile(r"\s*\(\s*[\"“]")
_QUOTED_CLOSE = re.compile(r"[\"”]\s*\)")
_PAREN_OPEN = re.compile(r"\s*\(\s*")
# a second alias of the same name further on: "..., known as Gwadloup in the local creole, and sometimes known as"
_AND_KNOWN_AS = re.compile(rf"[^.;:()\n]{{0,40}}?,\s*(?:and|or)\s+(?:{_ALIAS_ADVERB})?(?:known as|called)\s+")


def _known_as(cands: Sequence[Candidate], links: list[_Link], text: str) -> None:
    """A name the article gives as another name of the name right before it ("Guadeloupe, known as Gwadloup in
    the local creole, and sometimes known as the Butterfly Island", "Jolfa (originally called New Julfa)") is that
    thing wherever the article writes it, whatever the model typed it: the two ids become one, the KB's entity's
    if one is linked, else the one not typed PERSON (a place's name in another language is often typed PERSON).
    A nickname in quotes in parentheses right after a name ('QuickenLoans Arena ("The Q")') too, not a name in
    parentheses without quotes ("Moscow (Russia)") unless both are facilities ("US 169 (Mingo Valley Expressway");
    "aka" is "also known as". Two different KB entities are never joined; "called" only with an adverb ("Smith,
    called Jones" is a verb)."""
    if not text or not (
        "known as" in text or "called" in text or "(" in text or "aka" in text or "a.k.a." in text
    ):
        return
    aliased: set[int] = set()
    for i in range(1, len(cands)):
        x, y = cands[i - 1], cands[i]
        gap = text[x.end : y.start] if x.end <= y.start else ""
        if not gap or not (
            _KNOWN_AS.fullmatch(gap)
            or (i - 1 in aliased and _AND_KNOWN_AS.fullmatch(gap))
            or (_QUOTED_OPEN.fullmatch(gap) and _QUOTED_CLOSE.match(text, y.end))
            # a facility with its other name in parentheses ("US 169 (Mingo Valley Expressway, ..."), both
            # facilities: a place in parentheses is where it is ("Moscow (Russia)")
            or (x.label == y.label == "FAC" and _PAREN_OPEN.fullmatch(gap))
        ):
            continue
        a, b = links[i - 1], links[i]
        if not a.id or not b.id or a.id == b.id or (a.kb is not None and b.kb is not None):
            aliased.add(i)
            continue
        rank_a = (a.kb is not None, x.label != "PERSON", 1)
        rank_b = (b.kb is not None, y.label != "PERSON", 0)
        win, lose = (a, b.id) if rank_a >= rank_b else (b, a.id)
        for k, lk in enumerate(links):
            if lk.id == lose:
                links[k] = win
        aliased.add(i)


def _best_names(cands: Sequence[Candidate], links: Sequence[_Link]) -> dict[str, str]:
    """One name per entity in the article: the KB's, else the most complete form."""
    best: dict[str, str] = {}
    for lk in links:
        if lk.kb is not None and not lk.id.endswith("#norp"):
            best[lk.id] = lk.kb.name
    fixed = set(best)
    for lk in links:
        cur = best.get(lk.id)
        if cur is None or (
            lk.id not in fixed and (len(lk.name.split()), len(lk.name)) > (len(cur.split()), len(cur))
        ):
            best[lk.id] = lk.name
    return best


def entities_of(mentions: Sequence[Mention]) -> list[Entity]:
    """One entity per id: its canonical name, its most frequent type, mention count and other surface forms."""
    counts: Counter[str] = Counter()
    types: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[str, Mention] = {}
    aliases: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        counts[m.id] += 1
        types[m.id][m.type] += 1
        first.setdefault(m.id, m)
        surface = strip_possessive(m.text)
        if surface != m.name:
            aliases[m.id].add(surface)
    return [
        Entity(
            id=i,
            name=first[i].name,
            type=types[i].most_common(1)[0][0],
            mentions=counts[i],
            aliases=sorted(aliases[i]),
            kb_id=first[i].kb_id,
            kb_name=first[i].kb_name,
        )
        for i in sorted(counts, key=lambda k: (-counts[k], k))
    ]
