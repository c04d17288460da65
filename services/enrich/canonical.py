"""Canonical entity ids: deterministic from the name, so every worker and every order of articles agrees.

No shared state: an id is a digest of a *key* computed from the name alone (plus the curated alias file, which
is static data). Keys fold what differs between spellings of one name and keep what tells names apart:

* places and organizations: case, accents, periods and punctuation ("U.S." = "US"); the alias file and the
  gazetteer then map variants to one canonical name ("Kiev" -> "Kyiv").
* persons: ``first|surname`` where the surname goes through a transliteration-folding phonetic key
  ("Zelensky" = "Zelenskyy" = "Zelenskiy", "Lukashenka" = "Lukashenko") and the first name through the same
  key plus a small table of transliteration variants ("Alyaksandr" = "Alexander"). Short words (< 5 letters)
  are only case/accent-folded, so "Lee" and "Li" stay apart. The first name is part of the key, so
  "Bill Clinton" and "Hillary Clinton" stay apart; "Kim Jong-un" and "Kim Jong-il" differ in the last word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from services.common.text import digest

PLACE_LABELS = frozenset({"GPE", "LOC"})
ONTONOTES_LABELS = frozenset(
    {
        "PERSON",
        "NORP",
        "FAC",
        "ORG",
        "GPE",
        "LOC",
        "PRODUCT",
        "EVENT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
        "DATE",
        "TIME",
        "PERCENT",
        "MONEY",
        "QUANTITY",
        "ORDINAL",
        "CARDINAL",
    }
)

_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_THE = re.compile(r"^the\s+", re.IGNORECASE)

# Words that precede a name but are not part of it ("President Vladimir Putin", "Gen. Mark Milley").
TITLES = frozenset(
    [
        "president",
        "vice",
        "prime",
        "minister",
        "secretary",
        "chancellor",
        "premier",
        "governor",
        "gov",
        "mayor",
        "senator",
        "sen",
        "rep",
        "representative",
        "congressman",
        "congresswoman",
        "ambassador",
        "general",
        "gen",
        "lieutenant",
        "lt",
        "colonel",
        "col",
        "major",
        "maj",
        "captain",
        "capt",
        "commander",
        "admiral",
        "adm",
        "sergeant",
        "sgt",
        "officer",
        "chief",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "minister",
        "foreign",
        "defense",
        "defence",
        "interior",
        "deputy",
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "professor",
        "sir",
        "dame",
        "lord",
        "lady",
        "king",
        "queen",
        "prince",
        "princess",
        "emperor",
        "pope",
        "cardinal",
        "bishop",
        "archbishop",
        "rev",
        "reverend",
        "judge",
        "justice",
        "chairman",
        "chairwoman",
        "chair",
        "ceo",
        "director",
        "head",
        "leader",
        "founder",
        "coach",
        "manager",
        "striker",
        "midfielder",
        "goalkeeper",
        "defender",
        "sheikh",
        "emir",
        "crown",
        "former",
        "late",
        "acting",
        "administrator",
        "commissioner",
        "inspector",
        "detective",
        "superintendent",
        "councillor",
        "councilor",
        "lawmaker",
    ]
)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md"})
_SURNAME_PARTICLES = ("al-", "el-", "al ", "el ")

# First names written differently by transliteration (Russian / Ukrainian / Belarusian / English / Arabic).
# Each group maps to its first member. Spellings the phonetic key already folds (Dmitry/Dmitri) need no entry.
FIRST_NAME_VARIANTS: tuple[tuple[str, ...], ...] = (
    (
        "alexander",
        "aleksandr",
        "alyaksandr",
        "aliaksandr",
        "oleksandr",
        "alexandr",
        "aleksander",
        "alexandre",
        "aleksandar",
    ),
    ("alexei", "aleksei", "alexey", "aleksey", "oleksiy", "oleksii", "aliaksei", "alyaksei"),
    ("vladimir", "volodymyr", "wladimir", "uladzimir", "vladymyr"),
    ("sergei", "sergey", "serhiy", "serhii", "sergiy", "siarhei", "serguei"),
    ("dmitry", "dmytro", "dzmitry", "dmitriy", "dmitrii"),
    ("andrei", "andrey", "andriy", "andrii", "andrej"),
    ("nikolai", "nikolay", "mykola", "mikalai", "nicolai"),
    ("yevgeny", "evgeny", "yevhen", "yauhen", "evgeni", "evgenii", "yevgeniy"),
    ("yuri", "yury", "yuriy", "iurii", "yurii", "juri"),
    ("mikhail", "mykhailo", "mikhael", "michail"),
    ("grigory", "hryhoriy", "grigori", "hryhorii"),
    ("oleg", "oleh"),
    ("igor", "ihor"),
    ("pavel", "pavlo"),
    ("pyotr", "petr", "petro"),
    ("kirill", "kyrylo"),
    ("ilya", "illia", "ilia"),
    ("viktor", "victor"),
    ("svetlana", "sviatlana", "svitlana"),
    ("yelena", "elena", "olena", "alena"),
    ("tatiana", "tatyana", "tetiana", "tatsiana"),
    ("yekaterina", "ekaterina", "kateryna", "katsiaryna"),
    ("olga", "olha", "volha"),
    ("natalia", "natalya", "nataliya", "natallia"),
    ("mohammed", "muhammad", "mohamed", "mohammad", "muhammed", "mohamad"),
)


def fold(text: str) -> str:
    """Case-, accent- and punctuation-free key: "the U.S.'s" -> "us", "Kyïv" -> "kyiv"."""
    text = _THE.sub("", _POSSESSIVE.sub("", text.strip()))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace(".", "")
    return _NON_ALNUM.sub(" ", text.casefold()).strip()


def strip_possessive(text: str) -> str:
    return _POSSESSIVE.sub("", text.strip()).strip()


_PHONETIC_STEPS: tuple[tuple[str, str], ...] = (
    ("sch", "sh"),
    ("tch", "ch"),
    ("ck", "k"),
    ("ph", "f"),
    ("kh", "h"),
    ("x", "ks"),
    ("q", "k"),
    ("w", "v"),
    ("ch", "\x01"),
    ("c", "k"),
    ("\x01", "ch"),
    ("ou", "u"),
    ("j", "i"),
    ("y", "i"),
    ("ie", "i"),
    ("ii", "i"),
)


def phonetic(word: str, min_len: int = 5) -> str:
    """Transliteration-folding key of one name word ("Zelenskyy" -> "zelenski", "Lukashenka" -> "lukashenk").

    Words shorter than ``min_len`` letters are only folded (so "Lee"/"Li", "Iran"/"Iraq" never merge).
    Slavic -ko/-ka endings fold together only on words of 7+ letters (Lukashenka / Lukashenko).
    """
    w = fold(word).replace(" ", "")
    for prefix in _SURNAME_PARTICLES:
        if w.startswith(prefix.strip()) and len(w) > len(prefix) + 3 and word.lower().startswith(prefix):
            w = w[len(prefix.strip()) :]
            break
    if len(w) < min_len or not w.isalpha():
        return w
    for a, b in _PHONETIC_STEPS:
        w = w.replace(a, b)
    w = re.sub(r"(.)\1+", r"\1", w)  # double letters
    if len(w) >= 7 and w[-2:] in ("ko", "ka") and w[-3] not in "aeiou":
        w = w[:-1]
    return w


_FIRST_NAME_CLASS: dict[str, str] = {}
for _group in FIRST_NAME_VARIANTS:
    for _variant in _group:
        _FIRST_NAME_CLASS.setdefault(phonetic(_variant), phonetic(_group[0]))


def first_name_key(word: str) -> str:
    key = phonetic(word)
    return _FIRST_NAME_CLASS.get(key, key)


def _is_initial(word: str) -> bool:
    w = word.replace(".", "")
    return len(w) == 1 or (len(w) <= 3 and w.isupper() and "." in word)


@dataclass(frozen=True)
class PersonName:
    words: tuple[str, ...]  # the name without titles and suffixes: ("Vladimir", "Putin")

    @property
    def surname(self) -> str:
        return self.words[-1]

    @property
    def first(self) -> str | None:
        """The given name when the name has one that is not a bare initial."""
        if len(self.words) < 2 or _is_initial(self.words[0]):
            return None
        return self.words[0]

    @property
    def initial(self) -> str | None:
        return fold(self.words[0])[:1] if len(self.words) >= 2 else None

    @property
    def is_full(self) -> bool:
        return self.first is not None

    def key(self) -> str:
        first = self.first
        return f"{first_name_key(first) if first else ''}|{phonetic(self.surname)}"


def person_name(text: str) -> PersonName | None:
    """The name words of a person mention: titles, possessive and suffixes dropped; None when nothing is left."""
    words = [w.rstrip(",") for w in re.split(r"\s+", strip_possessive(text)) if w]
    while len(words) > 1 and (fold(words[-1]) in _SUFFIXES or fold(words[-1]) == ""):
        words.pop()
    # Everything up to the last title goes: "Ukrainian President Volodymyr Zelenskyy" -> "Volodymyr Zelenskyy".
    last_title = max((i for i, w in enumerate(words[:-1]) if fold(w) in TITLES), default=-1)
    words = [w for w in words[last_title + 1 :] if fold(w)]
    return PersonName(tuple(words)) if words else None


def entity_class(label: str) -> str:
    """The coarse class an id is made in: a place typed GPE in one article and LOC in another is one entity."""
    if label in PLACE_LABELS:
        return "place"
    return label.lower()


def key_of(label: str, name: str) -> str:
    if label == "PERSON":
        p = person_name(name)
        return p.key() if p else fold(name)
    return fold(name)


def entity_id(label: str, name: str) -> str:
    """The id of the entity ``name`` of type ``label``: a digest of its key, the same in every process."""
    return f"{entity_class(label)}:{digest(key_of(label, name), 12)}"


# --- curated aliases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Curated:
    name: str
    type: str

    @property
    def id(self) -> str:
        return entity_id(self.type, self.name)


class AliasError(ValueError):
    """The alias file is malformed (reported with the entry that is wrong)."""


@dataclass(frozen=True)
class Aliases:
    """The curated alias file: canonical name, type and aliases of entities that must always resolve alike.

    Looked up by key, so an alias also matches its spelling variants ("Zelensky" covers "Zelenskiy").
    """

    persons: dict[str, Curated]  # person key ("|zelenski", "vladimir|putin") -> entry
    others: dict[str, Curated]  # fold(name) -> entry

    @classmethod
    def empty(cls) -> Aliases:
        return cls({}, {})

    @classmethod
    def from_entries(cls, entries: Iterable[dict[str, object]]) -> Aliases:
        persons: dict[str, Curated] = {}
        others: dict[str, Curated] = {}
        for n, e in enumerate(entries):
            if (
                not isinstance(e, dict)
                or not isinstance(e.get("name"), str)
                or e.get("type") not in ONTONOTES_LABELS
            ):
                raise AliasError(f"entry {n}: needs a name and an OntoNotes type, got {e!r}")
            aliases = e.get("aliases") or []
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise AliasError(f"entry {n} ({e['name']}): aliases must be a list of strings")
            entry = Curated(str(e["name"]), str(e["type"]))
            for form in [entry.name, *aliases]:
                if entry.type == "PERSON":
                    p = person_name(form)
                    if p is None:
                        continue
                    _put(persons, p.key(), entry, form)
                else:
                    _put(others, fold(form), entry, form)
        return cls(persons, others)

    @classmethod
    def load(cls, path: Path) -> Aliases:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = data.get("entities", []) if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise AliasError(f"{path}: expected a list of entities")
        return cls.from_entries(entries)

    def person(self, text: str) -> Curated | None:
        p = person_name(text)
        return self.persons.get(p.key()) if p else None

    def other(self, text: str) -> Curated | None:
        return self.others.get(fold(text))

    def lookup(self, text: str, label: str) -> Curated | None:
        """The curated entity ``text`` names, trying the model's class first ("Kyiv" typed PERSON -> Kyiv)."""
        if label == "PERSON":
            return self.person(text) or self.other(text)
        return self.other(text) or (self.person(text) if _looks_like_name(text) else None)


def _looks_like_name(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= 4 and all(w[:1].isupper() for w in words)


def _put(index: dict[str, Curated], key: str, entry: Curated, form: str) -> None:
    if not key:
        return
    old = index.get(key)
    if old is not None and old != entry:
        raise AliasError(f"alias {form!r} of {entry.name!r} is already an alias of {old.name!r}")
    index[key] = entry
