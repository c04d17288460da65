#!/usr/bin/env python3
"""NER quality and entity-id consistency on real news: GUM Wikinews (WebAnno TSV 3.2), bare model vs ours.

Gold: GUM mentions of type person / organization / place that are *names* (GUM also marks pronouns and
common-noun phrases: "the country", "he"). A mention is a name when, after dropping a leading "the" and a
trailing possessive "'s", its first and last words are capitalized and every word between is capitalized or a
short function word ("of", "and", "for"...), and a sentence-initial capital alone does not count when the
word also occurs lowercase in the corpus. GUM types map to spaCy's: person -> PERSON, organization -> ORG,
place -> GPE/LOC (scored as one class, "place"). Matching is exact (character span and class).

Texts are rebuilt from GUM's tokens with a light detokenizer (no space before "," "." "'s" ...), the
headline and the date line as paragraphs of their own, so the model sees ordinary news prose.

Variants: ``plain`` (GUM as is) and ``caps`` (each headline in capitals, as news sites print them).

Identity: every gold name with a Wikipedia identity (e.g. ``North_Korea``) is an identity group; a
predicted mention belongs to the smallest gold name containing it. The merge rate is the share of groups
(across all documents) with at least one found mention whose found mentions all carry one id; the split
rate counts the opposite error: ids shared by mentions of more than one identity.

    python scripts/eval_ner.py                      # ../shared/data/gum-news, both systems, both variants
    python scripts/eval_ner.py --errors 40          # also print what ours gets wrong
    python scripts/eval_ner.py --json out.json

Exit status 1 when ours does not beat the bare model on F1 (``plain`` variant).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.common.settings.enrich import EnrichSettings
from services.enrich.model import SpacyNer

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "gum-news"
GUM_CLASS = {"person": "PERSON", "organization": "ORG", "place": "PLACE"}
SPACY_CLASS = {"PERSON": "PERSON", "ORG": "ORG", "GPE": "PLACE", "LOC": "PLACE"}
_FUNCTION_WORDS = {
    "of",
    "and",
    "for",
    "the",
    "de",
    "du",
    "des",
    "la",
    "le",
    "von",
    "van",
    "der",
    "den",
    "in",
    "on",
    "at",
    "&",
    "-",
    "'s",
    "bin",
    "al",
    "da",
    "di",
    "del",
    "y",
    "e",
    "a",
    "to",
}
_NO_SPACE_BEFORE = {
    ",",
    ".",
    ";",
    ":",
    "!",
    "?",
    ")",
    "]",
    "}",
    "%",
    "'s",
    "'S",
    "n't",
    "'re",
    "'ve",
    "'ll",
    "'d",
    "'m",
    "’s",
    "...",
    "'",
}
_NO_SPACE_AFTER = {"(", "[", "{", "$", "#"}


@dataclass
class Gold:
    start: int
    end: int
    cls: str
    identity: str | None
    text: str


@dataclass
class GumDoc:
    name: str
    text: str
    gold: list[Gold] = field(default_factory=list)
    headline_end: int = 0


@dataclass
class _Tok:
    text: str
    sent: int
    glued: bool = False  # no space before it in the rebuilt text ("Chung" "-" "tai")
    anns: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # annotation id -> (type, identity)


def _read_tokens(path: Path) -> list[_Tok]:
    toks: list[_Tok] = []
    sent = -1
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#Text="):
            sent += 1
            continue
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 7:
            continue
        anns: dict[str, tuple[str, str | None]] = {}
        identities: dict[str, str] = {}
        if cols[6] not in ("_", ""):
            for v in cols[6].split("|"):
                m = re.fullmatch(r"(.*)\[(\d+)\]", v)
                if m:
                    identities[m.group(2)] = m.group(1)
        if cols[3] not in ("_", ""):
            for v in cols[3].split("|"):
                m = re.fullmatch(r"(\w+)\[(\d+)\]", v)
                if m:
                    anns[m.group(2)] = (m.group(1), identities.get(m.group(2)))
        toks.append(_Tok(cols[2], sent, anns=anns))
    return toks


def _detokenize(toks: Sequence[_Tok]) -> tuple[str, list[tuple[int, int]]]:
    """Text with ordinary spacing, and each token's character span in it."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    open_quote = {'"': False, "'": False}
    prev: _Tok | None = None
    for i, t in enumerate(toks):
        if prev is None:
            sep = ""
        elif t.sent != prev.sent:
            sep = "\n\n" if t.sent <= 2 else " "
        else:
            sep = " "
            nxt = toks[i + 1].text if i + 1 < len(toks) else ""
            if t.text in ('"', "'") and t.text in open_quote:
                sep = "" if open_quote[t.text] else " "
            elif (
                t.text in _NO_SPACE_BEFORE
                or prev.text in _NO_SPACE_AFTER
                or open_quote.get(prev.text)
                or (t.text == "-" and prev.text[-1:].isalnum() and nxt[:1].isalnum())
                or (
                    prev.text == "-"
                    and i >= 2
                    and toks[i - 2].text[-1:].isalnum()
                    and t.text[:1].isalnum()
                    and toks[i - 2].sent == t.sent
                )
            ):
                sep = ""
        if t.text in open_quote:
            open_quote[t.text] = not open_quote[t.text]
        if prev is not None and t.sent != prev.sent:
            open_quote = {'"': False, "'": False}
        t.glued = sep == "" and prev is not None
        parts.append(sep)
        pos += len(sep)
        spans.append((pos, pos + len(t.text)))
        parts.append(t.text)
        pos += len(t.text)
        prev = t
    return "".join(parts), spans


_TITLES = {
    "president",
    "ambassador",
    "administrator",
    "minister",
    "secretary",
    "professor",
    "emeritus",
    "governor",
    "mr",
    "mr.",
    "mrs",
    "mrs.",
    "ms",
    "ms.",
    "dr",
    "dr.",
    "chairman",
    "chairwoman",
    "ceo",
    "general",
    "gen.",
    "senator",
    "sen.",
    "rep.",
    "representative",
    "mayor",
    "judge",
    "chancellor",
    "premier",
    "sheriff",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "director",
    "chief",
    "commissioner",
    "officer",
    "coach",
    "captain",
    "lieutenant",
    "colonel",
    "sergeant",
    "detective",
    "inspector",
    "king",
    "queen",
    "prince",
    "princess",
    "pope",
    "cardinal",
    "bishop",
    "rev.",
    "reverend",
    "sir",
    "lord",
    "lady",
    "dame",
    "deputy",
    "vice",
    "leader",
    "founder",
    "head",
    "member",
    "lawmaker",
    "legislator",
    "candidate",
    "councillor",
    "councilor",
    "superintendent",
    "chair",
    "executive",
}


_PREPOSITIONS = {
    "of",
    "in",
    "to",
    "from",
    "at",
    "for",
    "with",
    "on",
    "by",
    "near",
    "outside",
    "inside",
    "across",
}
# Modifiers that make a place phrase name a part or a period of the place, another identity in GUM.
_PART_OF = {
    "north",
    "south",
    "east",
    "west",
    "northern",
    "southern",
    "eastern",
    "western",
    "northeastern",
    "northwestern",
    "southeastern",
    "southwestern",
    "central",
    "downtown",
    "uptown",
    "midtown",
    "mainland",
    "upstate",
    "coastal",
    "rural",
    "greater",
    "inner",
    "outer",
    "upper",
    "lower",
    "ancient",
    "classical",
    "medieval",
    "colonial",
    "independent",
    "occupied",
}
_POSTMODIFIER = _PREPOSITIONS | {",", "(", "who", "whose", "which", "that", "—"}
_GROUP_SUFFIXES = ("ans", "ese", "ites", "ims", "ists", "ers", "is")


def _name_part(
    toks: Sequence[_Tok], lo: int, hi: int, cls: str, lower_vocab: set[str]
) -> tuple[int, int] | None:
    """The name inside a GUM mention phrase, or None when it holds none.

    GUM marks whole noun phrases: "US President Donald Trump", "DAB's Elizabeth Quat", "Alvin Yeung of Civic
    Party", "Texas student Ahmed Mohamed", "the Indonesian Navy's". The name is the trailing run of capitalized
    words (lowercase function words allowed inside: "Church of Scientology"), after a leading "the", a trailing
    "'s", and for persons everything up to a title or a possessor and from "of" on, are dropped. Coordinated
    persons ("Claudia Mo and Wong Pik-wan") are left to their own GUM mentions.
    """
    if toks[lo].text.lower() == "the" and lo < hi:
        lo += 1
    if toks[hi].text in ("'s", "'", "’s") and hi > lo:
        hi -= 1
    words = [toks[k].text for k in range(lo, hi + 1)]
    if cls == "PERSON":
        if "and" in words or "&" in words:
            return None
        cut = next((k for k, w in enumerate(words) if w in _POSTMODIFIER and k > 0), None)
        if cut is not None:
            hi, words = lo + cut - 1, words[:cut]
        for k in range(len(words) - 1, -1, -1):
            if words[k].lower() in _TITLES or words[k] in ("'s", "’s"):
                lo, words = lo + k + 1, words[k + 1 :]
                break
        if not words:
            return None
    else:
        # The name of a place or organisation phrase is its head, before any postmodifier: "Athens, Greece" is
        # Athens ("Greece" is a mention of its own in GUM), "the capital of independent Greece" and "a city on
        # the shores of Lake Erie" name no place themselves. A preposition inside a name ("Bank of America",
        # "Court of Appeals for the Ninth Circuit") follows a capitalized word and does not cut.
        for k in range(1, len(words)):
            w = words[k]
            nxt = words[k + 1] if k + 1 < len(words) else ""
            if w == "," and nxt.endswith(".") and len(nxt) <= 4:
                continue  # "Washington, D.C.", "Acme, Inc.": part of the name
            if (
                w in (",", "(", "—", ";", ":")
                or w.lower() in ("who", "whose", "which", "that", "where")
                or (
                    w.lower() in _PREPOSITIONS
                    and (w.lower() not in ("of", "for") or not words[k - 1][:1].isupper())
                )
            ):
                cut = k
            else:
                continue
            hi, words = lo + cut - 1, words[:cut]
            break

    def first_in_sentence(k: int) -> bool:
        return k == 0 or toks[k - 1].sent != toks[k].sent or toks[k - 1].text in ('"', "'", "(", ":")

    def capitalized(k: int) -> bool:
        w = words_at[k]
        if not (w[:1].isupper() or w[:1].isdigit()) or w == "I":
            return False
        # A sentence-initial capital is no evidence of a name when the word occurs lowercase elsewhere.
        return not (first_in_sentence(k) and w[1:].islower() and w.lower() in lower_vocab)

    # Capitalization is judged on whole words: "Chung-tai" (three GUM tokens) is capitalized.
    words_at: dict[int, str] = {}
    k = lo
    while k <= hi:
        j = k
        while j < hi and toks[j + 1].glued:
            j += 1
        for m in range(k, j + 1):
            words_at[m] = "".join(toks[x].text for x in range(k, j + 1))
        k = j + 1

    def _capitalized_before(k: int) -> bool:
        # the next word to the left that is not a function word is capitalized ("of the" inside a name)
        j = k - 1
        while j > lo and toks[j].text.lower() in _FUNCTION_WORDS:
            j -= 1
        return j >= lo and capitalized(j) and toks[j].text.lower() not in _FUNCTION_WORDS

    if not capitalized(hi):
        return None
    start = hi
    k = hi - 1
    while k >= lo:
        w = toks[k].text
        if capitalized(k) or (not w[:1].isalpha() and w not in (",", "(", ")", '"')):
            start = k
        elif w.lower() in _FUNCTION_WORDS and k > lo and _capitalized_before(k):
            pass  # "Church of Scientology", "Royal Library of the Netherlands": keep looking left; start moves
            # only on a capitalized word
        else:
            break
        k -= 1
    while start < hi and not toks[start].text[:1].isalnum():
        start += 1
    if start > lo and toks[start - 1].text.lower() in _PREPOSITIONS:
        return None  # "the police in Texas": the name is a postmodifier, not the mention's name
    if cls != "PERSON" and any(toks[k].text.lower() in _PART_OF for k in range(lo, start)):
        return None  # "northeastern Oklahoma", "downtown Taipei", "ancient Greece": a part or an era of it
    run = {words_at[k] for k in range(start, hi + 1)}
    if not any(w[:1].isupper() for w in run):
        return None  # "107 killed"
    if cls == "PERSON" and len(run) == 1 and next(iter(run)).endswith(_GROUP_SUFFIXES):
        return None  # "Muslims", "Afghans": GUM persons, but groups named by a demonym, not names
    return start, hi


def load_gum(data: Path) -> list[GumDoc]:
    """GUM news documents with detokenized text and gold names (character spans into that text)."""
    docs: list[tuple[str, list[_Tok]]] = [(p.stem, _read_tokens(p)) for p in sorted(data.glob("GUM_*.tsv"))]
    lower_vocab = {t.text for _, toks in docs for t in toks if t.text.islower()}
    out: list[GumDoc] = []
    for name, toks in docs:
        text, spans = _detokenize(toks)
        doc = GumDoc(
            name,
            text,
            headline_end=max((e for (s, e), t in zip(spans, toks, strict=True) if t.sent == 0), default=0),
        )
        members: dict[str, list[int]] = defaultdict(list)
        info: dict[str, tuple[str, str | None]] = {}
        for i, t in enumerate(toks):
            for aid, ann in t.anns.items():
                members[aid].append(i)
                if ann[1] or aid not in info:
                    info[aid] = ann
        seen: set[tuple[int, int]] = set()
        for aid, idx in members.items():
            gum_type, identity = info[aid]
            cls = GUM_CLASS.get(gum_type)
            if cls is None:
                continue
            part = _name_part(toks, idx[0], idx[-1], cls, lower_vocab)
            if part is None:
                continue
            s, e = spans[part[0]][0], spans[part[1]][1]
            if (s, e) in seen:  # a phrase and its name-only mention ("Sydney, Australia" / "Australia")
                continue
            seen.add((s, e))
            doc.gold.append(Gold(s, e, cls, identity, text[s:e]))
        out.append(doc)
    return out


def caps_headlines(docs: Sequence[GumDoc]) -> list[GumDoc]:
    """The same documents with each headline in capitals (same offsets: ASCII upper-casing keeps lengths)."""
    out = []
    for d in docs:
        head = "".join(c.upper() if len(c.upper()) == 1 else c for c in d.text[: d.headline_end])
        out.append(GumDoc(d.name, head + d.text[d.headline_end :], d.gold, d.headline_end))
    return out


# --- systems -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pred:
    start: int
    end: int
    label: str
    id: str = ""
    name: str = ""


System = Callable[[list[str]], list[list[Pred]]]


def bare_system(ner: SpacyNer) -> System:
    def run(texts: list[str]) -> list[list[Pred]]:
        return [[Pred(s.start, s.end, s.label) for s in spans] for spans in ner.pipe(texts)]

    return run


def our_system(ner: SpacyNer, cfg: EnrichSettings, fixes: frozenset[str] | None = None) -> System:
    from services.enrich import logic
    from services.enrich.resources import DEFAULT_FIXES, Resources

    resources = Resources.load(cfg, fixes=DEFAULT_FIXES if fixes is None else fixes)

    def run(texts: list[str]) -> list[list[Pred]]:
        return [
            [Pred(m.start, m.end, m.type, m.id, m.name) for m in ms]
            for ms in logic.mentions_of_texts(texts, ner, cfg, resources)
        ]

    return run


# --- scores --------------------------------------------------------------------------------------------------


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def p(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def r(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.p * self.r / (self.p + self.r) if self.p + self.r else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "p": round(self.p, 4),
            "r": round(self.r, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def _without_the(text: str, start: int, end: int) -> tuple[int, int]:
    """A leading "the" is a convention (OntoNotes keeps it in "the United States", GUM's names drop it): it
    is ignored on both sides, so neither system is scored on it."""
    if text[start : start + 4] in ("the ", "The ") and end - start > 4:
        return start + 4, end
    return start, end


def score(
    docs: Sequence[GumDoc],
    preds: Sequence[Sequence[Pred]],
    lenient_gpe: bool = False,
    errors: list[str] | None = None,
) -> dict[str, Score]:
    """Exact span + class scores per class and micro-averaged ("all").

    ``lenient_gpe``: a GPE also matches a gold *organization* (GUM types a country that acts as organization,
    OntoNotes keeps it GPE) - reported beside the strict score, never instead of it.
    """
    out: dict[str, Score] = defaultdict(Score)
    for doc, ps in zip(docs, preds, strict=True):
        gold = {(g.start, g.end): g.cls for g in doc.gold}
        pred: dict[tuple[int, int], str] = {}
        raw_label: dict[tuple[int, int], str] = {}
        for p in ps:
            cls = SPACY_CLASS.get(p.label)
            if cls is not None:
                key = _without_the(doc.text, p.start, p.end)
                pred[key] = cls
                raw_label[key] = p.label
        for key, cls in pred.items():
            gcls = gold.get(key)
            ok = gcls == cls or (lenient_gpe and raw_label[key] == "GPE" and gcls == "ORG")
            if ok:
                out[gcls or cls].tp += 1
                out["all"].tp += 1
            else:
                out[cls].fp += 1
                out["all"].fp += 1
                if errors is not None:
                    what = f"wrong class (gold {gcls})" if gcls else "spurious"
                    errors.append(f"FP {doc.name}: {doc.text[key[0] : key[1]]!r} {raw_label[key]} - {what}")
        for key, gcls in gold.items():
            pcls = pred.get(key)
            if not (
                pcls == gcls
                or (lenient_gpe and pcls == "PLACE" and raw_label.get(key) == "GPE" and gcls == "ORG")
            ):
                out[gcls].fn += 1
                out["all"].fn += 1
                if errors is not None and pcls is None:
                    near = [doc.text[s:e] for (s, e) in pred if s < key[1] and key[0] < e]
                    errors.append(
                        f"FN {doc.name}: {doc.text[key[0] : key[1]]!r} {gcls}"
                        + (f" - predicted {near}" if near else "")
                    )
    return out


def identity_rates(
    docs: Sequence[GumDoc],
    preds: Sequence[Sequence[Pred]],
    errors: list[str] | None = None,
    exact: bool = False,
) -> dict[str, float | int]:
    """Share of identity groups (with >= 1 found mention) whose found mentions share exactly one id, and the
    ids that cover more than one identity (false merges); ``errors`` gets one line per split and per merge."""
    surfaces: dict[tuple[str, str], set[str]] = defaultdict(set)  # (identity, id) -> surface texts
    ids_of: dict[str, set[str]] = defaultdict(set)
    found: Counter[str] = Counter()
    idents_of_id: dict[str, set[str]] = defaultdict(set)
    for doc, ps in zip(docs, preds, strict=True):
        golds = [g for g in doc.gold if g.identity]
        for p in ps:
            if not p.id:
                continue
            ps_, pe_ = _without_the(doc.text, p.start, p.end)
            inside = [
                g
                for g in golds
                if (g.start, g.end) == (ps_, pe_) or (not exact and g.start <= ps_ and pe_ <= g.end)
            ]
            if not inside:
                continue
            g = min(inside, key=lambda x: x.end - x.start)
            assert g.identity
            ids_of[g.identity].add(p.id)
            found[g.identity] += 1
            idents_of_id[p.id].add(g.identity)
            surfaces[(g.identity, p.id)].add(f"{doc.text[p.start : p.end]}/{p.label}")
    groups = list(ids_of)
    one = sum(1 for k in groups if len(ids_of[k]) == 1)
    multi = [k for k in groups if found[k] >= 2]
    one_multi = sum(1 for k in multi if len(ids_of[k]) == 1)
    merged = sum(1 for v in idents_of_id.values() if len(v) > 1)
    if errors is not None:
        for k in groups:
            if len(ids_of[k]) > 1:
                parts = "; ".join(f"{i}: {sorted(surfaces[(k, i)])}" for i in sorted(ids_of[k]))
                errors.append(f"SPLIT {k}: {parts}")
        for i, idents in idents_of_id.items():
            if len(idents) > 1:
                errors.append(
                    f"MERGE {i}: " + "; ".join(f"{k} {sorted(surfaces[(k, i)])}" for k in sorted(idents))
                )
    return {
        "groups": len(groups),
        "one_id": one,
        "rate": round(one / len(groups), 4) if groups else 0.0,
        "groups_2plus": len(multi),
        "one_id_2plus": one_multi,
        "rate_2plus": round(one_multi / len(multi), 4) if multi else 0.0,
        "ids_shared_by_several_identities": merged,
        "ids": len(idents_of_id),
        "merged_share": round(merged / len(idents_of_id), 4) if idents_of_id else 0.0,
    }


def ablate(
    ner: SpacyNer,
    cfg: EnrichSettings,
    variants: dict[str, list[GumDoc]],
    results: dict[str, dict[str, object]],
) -> None:
    """F1 and identity-merge rate of ours with one correction toggled at a time (the evidence for each)."""
    from services.enrich.resources import ALL_FIXES, DEFAULT_FIXES

    def f1_of(key: str) -> float:
        return float(results[key]["strict"]["all"]["f1"])  # type: ignore[index]

    base = {v: f1_of(f"{v}/ours") for v in variants}
    base_rate = float(results["plain/ours"]["identity"]["rate_2plus"])  # type: ignore[index]
    print("ablation (F1 change vs ours; + means the toggled set is better):")
    rows: dict[str, dict[str, float]] = {}
    for fix in sorted(ALL_FIXES):
        fixes = DEFAULT_FIXES - {fix} if fix in DEFAULT_FIXES else DEFAULT_FIXES | {fix}
        system = our_system(ner, cfg, frozenset(fixes))
        row: dict[str, float] = {}
        for vname, vdocs in variants.items():
            preds = system([d.text for d in vdocs])
            row[vname] = round(score(vdocs, preds)["all"].f1 - base[vname], 4)
            if vname == "plain":
                row["merge_rate_2plus"] = round(
                    float(identity_rates(vdocs, preds)["rate_2plus"]) - base_rate, 4
                )
        what = "without" if fix in DEFAULT_FIXES else "with"
        rows[f"{what} {fix}"] = row
        print(
            f"  {what:7} {fix:13} plain {row['plain']:+.4f}  caps {row['caps']:+.4f}  "
            f"merge-rate(2+) {row['merge_rate_2plus']:+.4f}"
        )
    results["ablation"] = rows  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--errors", type=int, default=0, help="print up to N errors of ours (plain variant)")
    ap.add_argument("--identity-errors", action="store_true", help="print identities split and ids merged")
    ap.add_argument("--bare-errors", action="store_true", help="print the errors of the bare model instead")
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument(
        "--ablate",
        action="store_true",
        help="also score ours without each correction it uses, and with each one it leaves off",
    )
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no GUM data at {args.data} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    cfg = EnrichSettings()
    ner = SpacyNer(cfg.model, batch_size=cfg.batch_size)
    docs = load_gum(args.data)
    systems: dict[str, System] = {"bare": bare_system(ner), "ours": our_system(ner, cfg)}
    variants = {"plain": docs, "caps": caps_headlines(docs)}
    results: dict[str, dict[str, object]] = {}
    n_gold = sum(len(d.gold) for d in docs)
    print(
        f"{args.data.name}: {len(docs)} documents, {n_gold} gold names "
        f"({', '.join(f'{k} {v}' for k, v in sorted(Counter(g.cls for d in docs for g in d.gold).items()))})"
    )
    for vname, vdocs in variants.items():
        for sname, system in systems.items():
            t0 = time.perf_counter()
            preds = system([d.text for d in vdocs])
            secs = time.perf_counter() - t0
            errs: list[str] = []
            strict = score(vdocs, preds, errors=errs)
            lenient = score(vdocs, preds, lenient_gpe=True)
            row: dict[str, object] = {
                "strict": {k: v.as_dict() for k, v in sorted(strict.items())},
                "lenient_gpe_f1": round(lenient["all"].f1, 4),
                "seconds": round(secs, 2),
            }
            if sname == "bare":  # the baseline for identity: the lower-cased surface text as the id
                surface = [
                    [Pred(q.start, q.end, q.label, d.text[q.start : q.end].lower()) for q in ps]
                    for d, ps in zip(vdocs, preds, strict=True)
                ]
                row["identity"] = identity_rates(vdocs, surface)
                row["identity_exact"] = identity_rates(vdocs, surface, exact=True)
            if sname == "ours":
                id_errs: list[str] = []
                row["identity"] = identity_rates(vdocs, preds, id_errs)
                row["identity_exact"] = identity_rates(vdocs, preds, exact=True)
                if vname == "plain" and args.identity_errors:
                    for e in id_errs:
                        print("   ", e)
            results[f"{vname}/{sname}"] = row
            per = "  ".join(f"{k} {strict[k].f1:.3f}" for k in ("PERSON", "ORG", "PLACE"))
            print(
                f"{vname:5} {sname:4}  F1 {strict['all'].f1:.4f} (P {strict['all'].p:.3f} R {strict['all'].r:.3f})"
                f"  {per}  lenient-GPE F1 {lenient['all'].f1:.4f}  {secs:.1f}s"
            )
            if vname == "plain" and args.errors and (sname == "bare") == args.bare_errors:
                for e in errs[: args.errors]:
                    print("   ", e)
    if args.ablate:
        ablate(ner, cfg, variants, results)
    for sname in ("bare", "ours"):
        for k in ("identity", "identity_exact"):
            r = results[f"plain/{sname}"][k]
            print(
                f"{sname:4} {k:14}: one id {r['rate']:.4f} ({r['one_id']}/{r['groups']}), 2+ mentions "  # type: ignore[index]
                f"{r['rate_2plus']:.4f}, ids covering 2+ identities {r['ids_shared_by_several_identities']}/{r['ids']}"  # type: ignore[index]
                f" = {r['merged_share']:.4f}"  # type: ignore[index]
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    bare_f1 = results["plain/bare"]["strict"]["all"]["f1"]  # type: ignore[index]
    ours_f1 = results["plain/ours"]["strict"]["all"]["f1"]  # type: ignore[index]
    return 0 if ours_f1 > bare_f1 else 1


if __name__ == "__main__":
    sys.exit(main())
