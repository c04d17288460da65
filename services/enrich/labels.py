"""Which spans are entities and of what type: the model's spans cleaned (possessives, titles, "a ..."), then
re-typed where the alias file, the gazetteer or the article itself disagree with the model, plus the places and
surnames the model missed. Each correction is one of ``Resources.fixes`` (measured on GUM news)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from services.enrich.canonical import TITLES, Curated, PersonName, fold, person_name, phonetic
from services.enrich.model import Span
from services.enrich.resources import Resources

KEPT_TYPES = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"}
)
_POSSESSIVE_END = re.compile(r"(?:\s*(?:'s|’s|'S|’S)|(?<=s)['’])$")
_PLACE_PHRASE = re.compile(r"\b[A-Z][\w'’.\-]*(?: (?:of |the )?[A-Z][\w'’.\-]*){0,3}")


@dataclass
class Candidate:
    start: int
    end: int
    label: str
    text: str
    curated: Curated | None = None
    fixed: bool = False  # the label was decided by data (alias, gazetteer, document evidence), not the model
    state_code: bool = False  # a US state's postal code after a town ("Paramus, NJ"): resolve links the state


def _clean_span(text: str, s: Span, fixes: frozenset[str]) -> Candidate | None:
    start, end = s.start, s.end
    while end > start and text[end - 1] in " \t\n,;:":
        end -= 1
    if "possessive" in fixes:
        m = _POSSESSIVE_END.search(text, start, end)
        if m and m.start() > start:
            end = m.start()
    if s.label == "PERSON" and "titles" in fixes:
        while True:
            m = re.match(r"[^\s]+\s+", text[start:end])
            if not m:
                break
            word = fold(m.group())
            if word in TITLES and text[start + m.end() : start + m.end() + 1].isupper():
                start += m.end()
            else:
                break
    if "trim" in fixes:
        m = re.match(r"(?:a|an)\s+(?=[A-Z])", text[start:end])
        if m:
            start += m.end()  # "a World Health Organisation"
        cut = text.find(" (", start, end)
        if cut > start and ")" not in text[cut:end]:
            end = cut  # "World Health Organisation (WHO"
    surface = text[start:end]
    if not fold(surface):
        return None
    return Candidate(start, end, s.label, surface)


def _place_label(c: Candidate, res: Resources, person_surnames: set[str]) -> str | None:
    """GPE/LOC when the gazetteer knows ``c`` as a prominent place and the article does not use it as a name."""
    if res.gazetteer is None:
        return None
    place = res.gazetteer.place(c.text)
    # Only a place's own name, of a big place: small towns and alternate spellings collide with surnames and
    # companies ("Bush", "Toyota", "Kali").
    if place is None or not place.primary or place.prominence < res.min_prominence:
        return None
    if phonetic(c.text) in person_surnames:
        return None
    return place.label


def _add_places(text: str, cands: list[Candidate], res: Resources) -> list[Candidate]:
    if res.gazetteer is None:
        return cands
    taken = sorted((c.start, c.end) for c in cands)
    added: list[Candidate] = []
    for m in _PLACE_PHRASE.finditer(text):
        s, e = m.start(), m.end()
        if any(a < e and s < b for a, b in taken):
            continue
        place = res.gazetteer.place(m.group())
        if place is None or place.prominence < 1_000_000:
            continue
        added.append(Candidate(s, e, place.label, m.group(), fixed=True))
    return sorted(cands + added, key=lambda c: c.start)


_NAME_PHRASE = re.compile(r"\b[A-Z][\w'’.\-]*(?: (?:of |the |and )?[A-Z][\w'’.\-]*){0,4}")
KB_ADD_MIN_PLACE = (
    100_000  # a city the model missed is added only when at least this big (1M: -0.003 F1 on gum-more)
)


def _add_known(text: str, cands: list[Candidate], res: Resources) -> list[Candidate]:
    """Names the model missed that the knowledge base knows well: a curated person, organisation or place, a
    country, US state or continent, a city of a million or more ("X said on Monday" where X is in the KB)."""
    kb = res.kb
    if kb is None:
        return cands
    taken = sorted((c.start, c.end) for c in cands)
    added: list[Candidate] = []
    for m in _NAME_PHRASE.finditer(text):
        s, e = m.start(), m.end()
        if any(a < e and s < b for a, b in taken):
            continue
        phrase = m.group().rstrip(".")
        e = s + len(phrase)
        key = fold(phrase)
        if not key or key.lower() in ("i", "a") or (phrase.isupper() and len(phrase) <= 2):
            continue
        entry = None
        i = kb.curated.get(key)
        if i is not None:
            entry = kb.entries[i]
        else:
            for j in kb.names.get(key, []):
                ent = kb.entries[j]
                if (key, j) in kb.primary and (
                    ent.kind in ("country", "state", "continent")
                    or (ent.kind == "city" and ent.prior >= KB_ADD_MIN_PLACE)
                ):
                    entry = ent
                    break
            if entry is None and len(phrase.split()) >= 2:
                p = person_name(phrase)
                hits = kb.persons.get(p.key(), []) if p is not None and p.is_full else []
                curated = [kb.entries[h] for h in hits if kb.entries[h].kind == "curated"]
                entry = curated[0] if curated else None
        if entry is not None:
            added.append(Candidate(s, e, entry.type, phrase, fixed=True))
    return sorted(cands + added, key=lambda c: c.start) if added else cands


_LINE_BREAK = re.compile(r"\s*\n\s*")


def _split_at_line_breaks(text: str, spans: Sequence[Span]) -> list[Span]:
    """A name never runs over a line break: a span of the model's that does ("Guadeloupe\n\nGuadeloupe", a
    headline and the first word after it) is one span per line, each with the model's label."""
    out: list[Span] = []
    for s in spans:
        if "\n" not in s.text or s.label not in KEPT_TYPES:
            out.append(s)
            continue
        start = s.start
        for m in _LINE_BREAK.finditer(text, s.start, s.end):
            if m.start() > start:
                out.append(Span(text[start : m.start()], s.label, start, m.start()))
            start = m.end()
        if s.end > start:
            out.append(Span(text[start : s.end], s.label, start, s.end))
    return out


def decide_labels(text: str, spans: Sequence[Span], res: Resources) -> list[Candidate]:
    """The model's spans, cleaned and re-typed where the alias file, the gazetteer or the article disagree."""
    fixes = res.fixes
    if "span_break" in fixes:
        spans = _split_at_line_breaks(text, spans)
    cands = [c for s in spans if s.label in KEPT_TYPES and (c := _clean_span(text, s, fixes)) is not None]
    if "span_join" in fixes:
        cands = _join_split_names(text, cands, spans)
    if "span_whole" in fixes:
        cands = _whole_names(text, cands)
    for c in cands:
        c.curated = res.aliases.lookup(c.text, c.label)
        if c.curated is not None:
            c.label, c.fixed = c.curated.type, True
    # Surnames of the persons the article names in full ("Valeska Paris" -> "Paris" is her, not the city).
    surnames = {phonetic(p.surname) for p in _full_names(cands, res, text)}
    for c in cands:
        if c.fixed:
            continue
        single = len(c.text.split()) == 1
        if "doc_person" in fixes and single and c.label != "PERSON" and phonetic(c.text) in surnames:
            c.label, c.fixed = "PERSON", True
            continue
        if (c.label == "PERSON" and "place_person" in fixes) or (c.label == "ORG" and "place_org" in fixes):
            label = _place_label(c, res, surnames)
            if label is not None:
                c.label, c.fixed = label, True
                continue
        if (
            "demonyms" in fixes
            and c.label in ("GPE", "LOC", "PERSON", "ORG")
            and res.gazetteer is not None
            and res.gazetteer.demonym(c.text)
        ):
            c.label, c.fixed = "NORP", True
    if "place_cues" in fixes:
        _place_cues(text, cands, res, surnames)
    if "list_org" in fixes:
        _list_org_short_forms(text, cands)
    if "place_fac" in fixes:
        cands = _facilities_headed_by_places(text, cands)
    if "state_code" in fixes and res.kb is not None and res.kb.state_codes:
        for n, c in enumerate(cands):
            if c.text in res.kb.state_codes and after_town(text, cands, n):
                c.label, c.fixed, c.state_code = "GPE", True, True
    if "label_vote" in fixes:
        votes: dict[str, Counter[str]] = defaultdict(Counter)
        for c in cands:
            votes[fold(c.text)][c.label] += 1
        for c in cands:
            if not c.fixed:
                best, n = votes[fold(c.text)].most_common(1)[0]
                if n > votes[fold(c.text)][c.label]:
                    c.label = best
    if "place_add" in fixes:
        cands = _add_places(text, cands, res)
    if "kb_add" in fixes:
        cands = _add_known(text, cands, res)
    if "surname_add" in fixes:
        cands = _add_surnames(text, cands, res)
    return cands


_LIST_SEP = re.compile(r"\s*(?:,|,? and|,? or|;)\s+")


def _list_org_short_forms(text: str, cands: list[Candidate]) -> None:
    """A one-word name written as an item of a list beside an organisation ("Air Canada, American, British
    Airways, Southwest") that is the first word of exactly one organisation the article names in full ("American
    Airlines", "Southwest Airlines") is that organisation's short form, whatever the model typed it (a demonym, a
    compass word). An item alone, at a list's end, or one starting several organisations' names keeps its type."""
    firsts: dict[str, set[str]] = defaultdict(set)
    for c in cands:
        words = c.text.split()
        if c.label == "ORG" and len(words) >= 2:
            firsts[words[0]].add(fold(c.text))
    if not firsts:
        return
    for k, c in enumerate(cands):
        if c.label == "ORG" or c.curated is not None or " " in c.text or len(firsts.get(c.text, ())) != 1:
            continue
        if k == 0 or k + 1 == len(cands):
            continue
        prev, nxt = cands[k - 1], cands[k + 1]
        # an item inside a list (a separator on both sides: not "Balanga City Bataan, Philippines" of an address)
        if (
            (prev.label == "ORG" or nxt.label == "ORG")
            and _LIST_SEP.fullmatch(text[prev.end : c.start])
            and _LIST_SEP.fullmatch(text[c.end : nxt.start])
        ):
            c.label, c.fixed = "ORG", True


def _whole_names(text: str, cands: list[Candidate]) -> list[Candidate]:
    """A name of several words the model found whole once is whole wherever the article writes it: where the model
    found only a part of it ("Canada" of "Environment Canada spokesperson", beside "Environment Canada" found
    whole), that part becomes the whole name with the label of its whole mentions. Never over a longer span of
    the model ("New York" inside "New York Times" stays the newspaper)."""
    whole: dict[str, Counter[str]] = defaultdict(Counter)
    for c in cands:
        if " " in c.text and c.text[:1].isupper():
            whole[c.text][c.label] += 1
    if not whole:
        return cands
    out = list(cands)
    for name in sorted(whole, key=len, reverse=True):
        at = text.find(name)
        while at >= 0:
            end = at + len(name)
            if (at == 0 or not text[at - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
                hit = [c for c in out if c.start < end and at < c.end]
                if hit and all(at <= c.start and c.end <= end and (c.start, c.end) != (at, end) for c in hit):
                    label = whole[name].most_common(1)[0][0]
                    out = [c for c in out if c not in hit] + [Candidate(at, end, label, name)]
            at = text.find(name, end)
    out.sort(key=lambda c: c.start)
    return out


# What may join two parts of one name the model cut in two: a hyphen ("Basse-Terre"), or a hyphenated particle
# ("Naqsh-e Jahan Square", "Saint-Jean-de-Luz").
_JOINER = re.compile(r"-(?:[a-z]{1,3}[- ])?$")
# An organisation's name in a Romance language cut at one of its lower-case function words ("Universidad Nacional
# de Educación" + "a" + "Distancia"): only after a name that already has such a word inside, so the name is in
# that language, not an English one beside a name ("the Institute of Art" + "a" ... never: "of" is English).
_ROMANCE_WORDS = r"(?:a|de|del|della|di|da|do|dos|das|la|des|du|y|e)"
_ROMANCE_JOINER = re.compile(rf" {_ROMANCE_WORDS} ")
_ROMANCE_INSIDE = re.compile(rf" {_ROMANCE_WORDS} [A-ZÀ-Þ]")
_SYLLABLE_TAIL = re.compile(r"-[a-z]{2,4}\b")  # "Wong Kwok-hing": the second syllable of a given name
# The word before the left-out first word: a lower-case word or a comma (inside a sentence, not a heading or a
# sentence start, not "Sub-Saharan" or "17th Century").
_ROUTE_NUMBER = re.compile(
    r"[ -]\d{1,3}\b(?![.,]?\d)(?! ?(?:%|percent|million|billion|thousand|years?|people))"
)
_AFTER_PROSE = re.compile(r"(?:(?<![\w\-])[a-z]+|,) $")


def _join_split_names(text: str, cands: list[Candidate], spans: Sequence[Span]) -> list[Candidate]:
    """Names the model cut in two, made whole again: two spans joined by a hyphen ("Basse" + "-" + "Terre"), a
    road number after a country's abbreviation ("US 75"), a
    person's hyphenated given name cut at the hyphen ("Wong Kwok" + "-hing"), and a one-word span whose
    capitalized first word the model left out ("with Vitas" + "Gerulaitis": after a lower-case word or a comma,
    a word the article never writes lower-case, not a title, not in another span; the name mostly typed PERSON)."""
    out: list[Candidate] = []
    for c in cands:
        prev = out[-1] if out else None
        if (
            prev is not None
            and _JOINER.fullmatch(text[prev.end : c.start])
            and "\n" not in text[prev.end : c.start]
        ):
            label = c.label if c.label != "PERSON" else prev.label
            out[-1] = Candidate(prev.start, c.end, label, text[prev.start : c.end])
            continue
        if (
            prev is not None
            and prev.label in ("ORG", "FAC")
            and _ROMANCE_JOINER.fullmatch(text[prev.end : c.start])
            and _ROMANCE_INSIDE.search(prev.text)
        ):
            out[-1] = Candidate(prev.start, c.end, prev.label, text[prev.start : c.end])
            continue
        out.append(c)
    for n, c in enumerate(out):
        m = _ROUTE_NUMBER.match(text, c.end) if c.label in ("GPE", "ORG") and c.text.isupper() else None
        if m is not None and len(c.text) <= 3:  # "US 75", "US-169": a road, not the country
            out[n] = Candidate(c.start, m.end(), "FAC", text[c.start : m.end()])
            continue
    out = [c for k, c in enumerate(out) if k == 0 or c.start >= out[k - 1].end]
    taken = [(s.start, s.end) for s in spans]
    lower: set[str] | None = None
    typed: dict[str, Counter[bool]] = defaultdict(Counter)  # a one-word name: typed PERSON or not
    for c in out:
        typed[c.text][c.label == "PERSON"] += 1
    for n, c in enumerate(out):
        words = c.text.split()
        if c.label == "PERSON" and len(words) >= 2 and 2 <= len(words[-1]) <= 5:
            m = _SYLLABLE_TAIL.match(text, c.end)
            if m:
                out[n] = c = Candidate(c.start, m.end(), c.label, text[c.start : m.end()])
        if len(words) != 1 or c.label != "PERSON" or typed[c.text][False] > typed[c.text][True]:
            continue  # mostly typed a place or organisation ("Mérida"): the model's PERSON is the error
        m = re.search(r"\b([A-Z][a-z]+) $", text[max(0, c.start - 30) : c.start])
        if m is None:
            continue
        s = c.start - len(m.group(0))
        if not _AFTER_PROSE.search(text, max(0, s - 30), s) or fold(m.group(1)) in TITLES:
            continue
        if any(a < c.start - 1 and s < b for a, b in taken):
            continue
        if lower is None:
            lower = set(re.findall(r"\b[a-z]+\b", text))
        if m.group(1).lower() in lower:
            continue
        out[n] = Candidate(s, c.end, c.label, text[s : c.end])
    return out


# The head noun of a place or facility name: "Jack London Square" typed PERSON is a facility, "Socotra Island"
# typed ORG a location. Words that are also common surnames (Park, Hill, Church, Street, Lake) are left out.
_LOC_HEADS = frozenset(
    [
        "island",
        "islands",
        "isle",
        "river",
        "bay",
        "beach",
        "mountain",
        "mountains",
        "peninsula",
        "archipelago",
        "canyon",
        "desert",
        "lagoon",
        "strait",
        "gulf",
        "sea",
        "ocean",
        "valley",
        "falls",
        "reserve",
        "coast",
        "lakes",
    ]
)
_FAC_HEADS = frozenset(
    [
        "square",
        "airport",
        "harbour",
        "harbor",
        "mosque",
        "cathedral",
        "palace",
        "gardens",
        "avenue",
        "boulevard",
        "arena",
        "stadium",
        "expressway",
        "highway",
        "temple",
        "castle",
        "bridge",
    ]
)


def after_town(text: str, cands: Sequence[Candidate], n: int) -> bool:
    """``cands[n]`` is written right after another name that is no person's and a comma ("Paramus, NJ"): a US
    state's postal code there is the state ("Stephen Molomby, SC" is a senior counsel, not South Carolina)."""
    if n == 0:
        return False
    prev = cands[n - 1]
    return prev.label != "PERSON" and text[prev.end : cands[n].start] in (", ", ",")


_AFTER_PLACE = re.compile(r" ((?:[A-Z][\w'’\-]* ){0,2}[A-Z][\w'’\-]*)")


def _facilities_headed_by_places(text: str, cands: list[Candidate]) -> list[Candidate]:
    """A place name the model found at the start of a facility's name it cut short ("Cleveland" of "Cleveland
    Browns Stadium", "Brooklyn" of "Brooklyn Bridge"): the capitalized words after it end in a facility's head
    noun, and no other span is there. The facility is the mention, not the city."""
    out: list[Candidate] = []
    for n, c in enumerate(cands):
        m = _AFTER_PLACE.match(text, c.end) if c.label in ("GPE", "LOC") else None
        nxt = cands[n + 1].start if n + 1 < len(cands) else len(text)
        if m is not None and m.end() <= nxt and fold(m.group(1).split()[-1]) in _FAC_HEADS:
            out.append(Candidate(c.start, m.end(), "FAC", text[c.start : m.end()], fixed=True))
        else:
            out.append(c)
    return out


# A compass word ending a name typed ORG after capitalized words names a region ("the American Southwest"),
# not "Bank of the Southwest"; a person's surname stays a surname ("Douglass North")
_REGION_HEADS = frozenset(
    ["north", "south", "east", "west", "northeast", "northwest", "southeast", "southwest", "midwest"]
)
_REGION_NAME = re.compile(
    r"(?:[Tt]he )?(?:[A-Z][a-z]+ )+[A-Z][a-z]+"
)  # words only: not "North / Kansas-US-75 South"
# A house number after a name, then a comma, a parenthesis or a cross street ("Strynø Brovej 12 (Strynø)",
# "Paseo de Montejo 56A x 33A"): the name is a street's; not a year ("Gass 1997"), not a list's next number
_HOUSE_NUMBER = re.compile(r" \d{1,3}[A-Za-z]?(?=\s*[,(;]|\s+x\s+\d)")
# What a name is, said right after it: " is a (one or two words) <noun>" ("Vava’u is a group of", "Hapupu was a
# special place"); the noun follows. resolve.py describes names with it too.
IS_A = r"\s+(?:is|was)\s+(?:a|an)\s+(?:[a-z]+\s+){0,2}?"
# "Hapupu is a special place, and ...": the noun ends the phrase ("Ann is a small town girl" is no town)
_IS_A_PLACE = re.compile(
    IS_A + r"(place|town|village|city|island|region)"
    r"(?=\s*(?:[.,;:!?)]|$)|\s(?:and|in|on|of|that|where|which|with|near|about|from)\b)"
)
_PLACE_FIRST = {"mount": "LOC", "lake": "LOC", "cape": "LOC", "fort": "GPE", "port": "GPE"}
# A name right after one of these is a place ("in Coron", "near Napier"): people and organisations rarely
# follow them ("in Congress" does: organisations need the KB to know the place).
_LOCATIVE = re.compile(r"\b(?:in|near|around|across|outside|throughout|within|towards?)\s+$")


def _place_cues(text: str, cands: list[Candidate], res: Resources, surnames: set[str]) -> None:
    """Places the model typed PERSON or ORG, re-typed by the article's own evidence: the head noun of the name
    ("Wat Arun Temple", "Fort Lee"), or a locative preposition before the name somewhere in the article for a
    place the KB knows ("in Christchurch") or, typed PERSON, for a one-word name seen there twice ("to Coron ...
    in Coron")."""
    locative: Counter[str] = Counter()
    cued: set[int] = set()
    typed_place = {fold(c.text) for c in cands if c.label in ("GPE", "LOC")}
    for n, c in enumerate(cands):
        if _LOCATIVE.search(text, max(0, c.start - 12), c.start):
            locative[fold(c.text)] += 1
            cued.add(n)
    kb = res.kb
    for n, c in enumerate(cands):
        if c.fixed or c.label not in ("PERSON", "ORG"):
            continue
        words = c.text.split()
        head, first = fold(words[-1]), fold(words[0])
        if len(words) >= 2 and head in _LOC_HEADS:
            c.label, c.fixed = "LOC", True
            continue
        if len(words) >= 2 and c.label == "PERSON" and first in _PLACE_FIRST:
            c.label, c.fixed = _PLACE_FIRST[first], True
            continue
        if len(words) >= 2 and head in _FAC_HEADS:
            c.label, c.fixed = "FAC", True
            continue
        said = _IS_A_PLACE.match(text, c.end)
        if said is not None:  # "Hapupu is a special place": the article says what it is
            c.label, c.fixed = ("GPE" if said.group(1) in ("town", "village", "city") else "LOC"), True
            continue
        if c.label == "PERSON" and len(words) >= 2 and _HOUSE_NUMBER.match(text, c.end):
            c.label, c.fixed = "FAC", True  # "Strynø Brovej 12 (Strynø)": a street address, not a person
            continue
        if c.label == "ORG" and head in _REGION_HEADS and _REGION_NAME.fullmatch(c.text):
            c.label, c.fixed = "LOC", True  # "the American Southwest", "the Pacific Northwest": a region
            continue
        key = fold(c.text)
        if phonetic(c.text) in surnames:
            continue
        known = (
            [
                kb.entries[i]
                for i in kb.names.get(key, [])
                if (key, i) in kb.primary and kb.entries[i].kind in ("country", "state", "city")
            ]
            if kb is not None
            else []
        )
        big = any(e.kind != "city" or e.prior >= KB_ADD_MIN_PLACE for e in known)
        if c.label == "ORG":
            # An organisation only on its own cue: "Toronto" the team beside "in Toronto" the city stays the team.
            retype = bool(known) and n in cued
        else:
            retype = (bool(known) and locative[key] > 0) or (big and key in typed_place)
            retype = retype or (len(words) == 1 and locative[key] >= 2)
        if retype:
            c.label, c.fixed = "GPE", True


_CAPITALIZED_PAIR = re.compile(r"\b([A-Z][\w'’]+)[ -](?=([A-Z][\w'’]+)\b)")
_NAME_WORD = re.compile(r"[A-Z][\w'’\-]*\.?$")


def _full_names(cands: Sequence[Candidate], res: Resources, text: str = "") -> list[PersonName]:
    """Person names that are good evidence: 2-4 capitalized words on one line, the first not a place or a
    demonym ("Virginia Democrats"), an alphabetic surname that is not an acronym ("Secure Cloud von IBM")."""
    out = []
    for c in cands:
        if c.label != "PERSON" or "\n" in c.text:
            continue
        p = person_name(c.text)
        if (
            p is None
            or not p.is_full
            or not 2 <= len(p.words) <= 4
            or not all(_NAME_WORD.match(w) for w in p.words)
        ):
            continue
        if not p.surname.isalpha() or p.surname.isupper() or len(p.surname) < 3:
            continue
        g = res.gazetteer
        if g is not None and (g.place(p.words[0]) is not None or g.demonym(p.words[0]) is not None):
            continue
        out.append(p)
    if not text or not out:
        return out
    # A "surname" the article writes after several other capitalized words that are no person's first name is
    # the head of place names ("Petite Terre", "Grande Terre", "Basse Terre"), not a family's name.
    preceding: dict[str, set[str]] = defaultdict(set)  # a capitalized word -> the capitalized words before it
    for m in _CAPITALIZED_PAIR.finditer(text):
        preceding[m.group(2)].add(fold(m.group(1)))
    kept = []
    for p in out:
        family = {
            fold(q.words[0]) for q in out if q.surname == p.surname
        }  # "Bill Clinton", "Hillary Clinton"
        before = preceding.get(p.surname, set()) - family - TITLES
        if len(before) < 2:
            kept.append(p)
    return kept


def _add_surnames(text: str, cands: list[Candidate], res: Resources) -> list[Candidate]:
    """The surname of a person the article names in full, where the model missed it ("Montalvo said")."""
    surnames = {p.surname for p in _full_names(cands, res, text)}
    if not surnames:
        return cands
    taken = [(c.start, c.end) for c in cands]
    added: list[Candidate] = []
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in sorted(surnames)) + r")\b")
    for m in pattern.finditer(text):
        if not any(a < m.end() and m.start() < b for a, b in taken):
            added.append(Candidate(m.start(), m.end(), "PERSON", m.group(), fixed=True))
    return sorted(cands + added, key=lambda c: c.start) if added else cands
