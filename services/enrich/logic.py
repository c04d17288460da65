"""Pure enrich logic: article bodies -> model spans -> corrected, canonical mentions and entities.

The step, per article: ALL-CAPS lines back to ordinary case (offsets unchanged); the body cut into pieces at
paragraph boundaries (bounded memory); one model call for the whole batch; then per article the corrections
measured on GUM news (possessives, titles, demonyms, places typed PERSON, surnames typed as places) and the
canonical ids of :mod:`services.enrich.canonical`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from services.common.records import EnrichedArticle, Entity, Mention, Rejected, UniqueArticle
from services.common.settings.enrich import EnrichSettings
from services.enrich.canonical import (
    TITLES,
    Curated,
    PersonName,
    entity_id,
    fold,
    person_name,
    phonetic,
    strip_possessive,
)
from services.enrich.model import Ner, Span
from services.enrich.resources import Resources, default_resources
from services.enrich.truecase import truecase

KEPT_TYPES = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"}
)
_POSSESSIVE_END = re.compile(r"(?:\s*(?:'s|’s|'S|’S)|(?<=s)['’])$")
_PLACE_PHRASE = re.compile(r"\b[A-Z][\w'’.\-]*(?: (?:of |the )?[A-Z][\w'’.\-]*){0,3}")


# --- chunks ---------------------------------------------------------------------------------------------------


def chunk_offsets(text: str, max_chars: int) -> list[tuple[int, int]]:
    """(start, end) pieces of ``text`` of at most ``max_chars``, cut at a paragraph break where there is one,
    else a line break, a sentence end or a space (a hard cut only inside a ``max_chars``-long word)."""
    out: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while n - start > max_chars:
        window = text[start : start + max_chars]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            i = window.rfind(sep, max_chars // 4)
            if i > 0:
                cut = i + len(sep)
                break
        end = start + (cut if cut > 0 else max_chars)
        out.append((start, end))
        start = end
    if start < n or not out:
        out.append((start, n))
    return out


# --- per-document resolution -----------------------------------------------------------------------------------


@dataclass
class _Cand:
    start: int
    end: int
    label: str
    text: str
    curated: Curated | None = None
    fixed: bool = False  # the label was decided by data (alias, gazetteer, document evidence), not the model


def _clean_span(text: str, s: Span, fixes: frozenset[str]) -> _Cand | None:
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
    return _Cand(start, end, s.label, surface)


def _place_label(c: _Cand, res: Resources, person_surnames: set[str]) -> str | None:
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


def _add_places(text: str, cands: list[_Cand], res: Resources) -> list[_Cand]:
    if res.gazetteer is None:
        return cands
    taken = sorted((c.start, c.end) for c in cands)
    added: list[_Cand] = []
    for m in _PLACE_PHRASE.finditer(text):
        s, e = m.start(), m.end()
        if any(a < e and s < b for a, b in taken):
            continue
        place = res.gazetteer.place(m.group())
        if place is None or place.prominence < 1_000_000:
            continue
        added.append(_Cand(s, e, place.label, m.group(), fixed=True))
    return sorted(cands + added, key=lambda c: c.start)


def decide_labels(text: str, spans: Sequence[Span], res: Resources) -> list[_Cand]:
    """The model's spans, cleaned and re-typed where the alias file, the gazetteer or the article disagree."""
    fixes = res.fixes
    cands = [c for s in spans if s.label in KEPT_TYPES and (c := _clean_span(text, s, fixes)) is not None]
    for c in cands:
        c.curated = res.aliases.lookup(c.text, c.label)
        if c.curated is not None:
            c.label, c.fixed = c.curated.type, True
    # Surnames of the persons the article names in full ("Valeska Paris" -> "Paris" is her, not the city).
    surnames = {phonetic(p.surname) for p in _full_names(cands, res)}
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
    if "surname_add" in fixes:
        cands = _add_surnames(text, cands, res)
    return cands


_NAME_WORD = re.compile(r"[A-Z][\w'’\-]*\.?$")


def _full_names(cands: Sequence[_Cand], res: Resources) -> list[PersonName]:
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
    return out


def _add_surnames(text: str, cands: list[_Cand], res: Resources) -> list[_Cand]:
    """The surname of a person the article names in full, where the model missed it ("Montalvo said")."""
    surnames = {p.surname for p in _full_names(cands, res)}
    if not surnames:
        return cands
    taken = [(c.start, c.end) for c in cands]
    added: list[_Cand] = []
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in sorted(surnames)) + r")\b")
    for m in pattern.finditer(text):
        if not any(a < m.end() and m.start() < b for a, b in taken):
            added.append(_Cand(m.start(), m.end(), "PERSON", m.group(), fixed=True))
    return sorted(cands + added, key=lambda c: c.start) if added else cands


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


# --- batches -----------------------------------------------------------------------------------------------------


def _is_place_word(res: Resources, word: str) -> bool:
    if res.gazetteer is None:
        return False
    place = res.gazetteer.place(word)
    return (place is not None and place.prominence >= 1_000_000) or res.gazetteer.demonym(word) is not None


def spans_of_texts(texts: Sequence[str], ner: Ner, cfg: EnrichSettings, res: Resources) -> list[list[Span]]:
    """Model spans for each text (offsets into it): truecased, cut into pieces, one model call for all."""
    pieces: list[str] = []
    owners: list[tuple[int, int]] = []  # (text index, offset of the piece)
    for k, text in enumerate(texts):
        prepared = truecase(text, lambda w: _is_place_word(res, w)) if "truecase" in res.fixes else text
        for s, e in chunk_offsets(prepared, cfg.chunk_chars):
            pieces.append(prepared[s:e])
            owners.append((k, s))
    found = ner.pipe(pieces) if pieces else []
    out: list[list[Span]] = [[] for _ in texts]
    for (k, off), spans in zip(owners, found, strict=True):
        text = texts[k]
        out[k].extend(
            Span(text[s.start + off : s.end + off], s.label, s.start + off, s.end + off) for s in spans
        )
    return out


def mentions_of_texts(
    texts: Sequence[str], ner: Ner, cfg: EnrichSettings, resources: Resources | None = None
) -> list[list[Mention]]:
    """Canonical mentions for each text: the whole enrich step on plain texts (the CLI and the evaluation)."""
    res = resources if resources is not None else default_resources(cfg)
    return [
        resolve(t, spans, res) for t, spans in zip(texts, spans_of_texts(texts, ner, cfg, res), strict=True)
    ]


def is_english(language: str | None) -> bool:
    """Unknown language is taken as English; "en", "en-GB", "EN_us" are English."""
    return language is None or language == "" or language.lower().replace("_", "-").split("-")[0] == "en"


def ner_text(article: UniqueArticle, cfg: EnrichSettings) -> str:
    """The text NER runs on: the body (offsets are into it), cut at ``max_chars`` on a space when one is near."""
    body = article.body
    if len(body) <= cfg.max_chars:
        return body
    cut = body.rfind(" ", cfg.max_chars - 200, cfg.max_chars)
    return body[: cut if cut > 0 else cfg.max_chars]


def enrich_batch(
    articles: Sequence[UniqueArticle], ner: Ner, cfg: EnrichSettings, resources: Resources | None = None
) -> list[EnrichedArticle | Rejected]:
    """Entities for a batch of articles (one model call for the batch).

    Articles in another language than English (``language`` set and not "en") are not run through the
    English model: they pass with no entities.
    """
    res = resources if resources is not None else default_resources(cfg)
    todo = [i for i, a in enumerate(articles) if is_english(a.language) and a.body.strip()]
    texts = [ner_text(articles[i], cfg) for i in todo]
    found = dict(zip(todo, mentions_of_texts(texts, ner, cfg, res), strict=True))
    out: list[EnrichedArticle | Rejected] = []
    for i, article in enumerate(articles):
        mentions = found.get(i, [])
        truncated = i in found and len(article.body) > cfg.max_chars
        out.append(
            EnrichedArticle(
                **article.model_dump(),
                entities=entities_of(mentions),
                mentions=mentions,
                ner_truncated=truncated,
            )
        )
    return out


__all__ = [
    "KEPT_TYPES",
    "Resources",
    "chunk_offsets",
    "decide_labels",
    "enrich_batch",
    "entities_of",
    "is_english",
    "mentions_of_texts",
    "resolve",
    "spans_of_texts",
]
