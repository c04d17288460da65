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

import functools
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
_EAST_ASIAN_GIVEN = re.compile(r"^[A-Z][a-z]{1,4}-[a-z]{1,4}$")  # "Kwok-kin", "Jong-un", "Ki-moon"
_GENERATIONAL = frozenset({"jr", "sr", "ii", "iii", "iv"})
_PATRONYMIC_PARTICLES = frozenset({"bin", "ibn", "ben", "bint", "abu", "ould"})
_NAME_PARTICLES = _PATRONYMIC_PARTICLES | {
    "van",
    "von",
    "de",
    "da",
    "di",
    "del",
    "della",
    "der",
    "den",
    "du",
    "dos",
    "das",
    "le",
    "la",
}

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
    ("abdul", "abdel", "abdol", "abd"),
    ("abdullah", "abdallah", "abdulla", "abdalla"),
    ("ahmed", "ahmad", "ahmet"),
    ("yusuf", "youssef", "yousef", "yusef", "yousif", "yussuf"),
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
    # consonants: one letter for the spellings romanization systems disagree on
    ("sch", "sh"),
    ("tch", "ch"),
    ("ck", "k"),
    ("ph", "f"),
    ("kh", "h"),  # Mikhail / Mihail, Khan / Han
    ("gh", "g"),  # Baghdad / Bagdad
    ("dh", "d"),  # Kadhafi / Gaddafi
    ("zh", "j"),
    ("dj", "j"),  # Djibouti / Jibuti
    ("x", "ks"),
    ("q", "k"),  # Qaeda / Kaeda, Muqtada
    ("w", "v"),
    ("ch", "\x01"),
    ("c", "k"),
    ("\x01", "ch"),
    ("g", "k"),  # Qaddafi / Gaddafi
    # vowels: Arabic and Slavic romanizations differ mostly in e/i, o/u, y/i and the diphthongs
    ("ou", "u"),  # Mosoul / Mosul
    ("oo", "u"),
    ("ee", "i"),
    ("ei", "ai"),  # Hussein / Hussain / Husayn
    ("ey", "ai"),
    ("ay", "ai"),
    ("e", "i"),  # Yasser / Yasir, Laden / Ladin
    ("o", "u"),  # Osama / Usama, Moqtada / Muqtada
    ("j", "i"),
    ("y", "i"),  # Zelenskyy / Zelenskiy
)
_INTERVOCALIC_TH = re.compile(r"(?<=[aeiouy])th(?=[aeiouy])")  # Qathafi / Qadhafi
_FINAL_H = re.compile(r"(?<=[aeiou])h$")  # Hamzah / Hamza
_TA_MARBUTA = re.compile(r"(?<=[^aeiou])[ae]h$")  # the Arabic feminine ending: Haniyeh / Haniyah / Haniya
_ARTICLES = frozenset({"al", "el", "the"})


@functools.lru_cache(maxsize=1 << 16)  # pure, and called on the same few names by many passes of an article
def phonetic(word: str, min_len: int = 5) -> str:
    """Transliteration-folding key of a name ("Zelenskyy" -> "zilinski", "Lukashenka" -> "lukashink",
    "al-Sadr" -> "sadr", "Qaddafi" = "Gaddafi" = "Kadhafi").

    Spaces and hyphens are ignored ("Jong-un" = "Jong Un"); "al"/"el"/"the" go (person names are keyed part
    by part, so "Al Gore" keeps his first name). Keys shorter than
    ``min_len`` letters are only folded (so "Lee"/"Li", "Iran"/"Iraq" never merge). Slavic -ko/-ka endings fold
    together only on keys of 7+ letters (Lukashenka / Lukashenko), -iv/-ov on 6+ (Kharkiv / Kharkov).
    """
    words = fold(word).split()
    if len(words) > 1 and words[0] in ("al", "el"):
        words = words[
            1:
        ]  # "al-Sadr" = "Sadr", "Al Qaida" = "al-Qaeda"; a person's "Al" is a first name, keyed alone
    words = [w for i, w in enumerate(words) if not (i > 0 and w in _ARTICLES)]
    w = "".join(words)
    if len(w) < min_len or not w.isalpha():
        return w
    w = _FINAL_H.sub("", _TA_MARBUTA.sub("a", _INTERVOCALIC_TH.sub("d", w)))
    for a, b in _PHONETIC_STEPS:
        w = w.replace(a, b)
    w = re.sub(r"(.)\1+", r"\1", w)  # double letters
    if len(w) >= 7 and w[-2:] in ("ku", "ka") and w[-3] not in "aiu":
        w = w[:-1]
    if len(w) >= 6 and w[-2:] in ("uv", "iv"):
        w = w[:-2] + "v"
    return w


_FIRST_NAME_CLASS: dict[str, str] = {}
for _group in FIRST_NAME_VARIANTS:
    for _variant in _group:
        _FIRST_NAME_CLASS.setdefault(phonetic(_variant), phonetic(_group[0]))


def first_name_key(word: str) -> str:
    """The key of a given name: :func:`phonetic`, transliteration variants of one name folded together, and
    the Arabic "Abd al-" compounds written as one word (Abdelaziz / Abdulaziz / Abdul Aziz)."""
    key = re.sub(r"^abd[aiu]l(?=[a-z]{3})", "abdul", phonetic(word))
    return _FIRST_NAME_CLASS.get(key, key)


def _syllable(word: str) -> bool:
    """A short name part written apart or hyphenated by different outlets ("Jong Un" / "Jong-un")."""
    w = fold(word)
    return 2 <= len(w) <= 4 and w.isalpha() and not _is_initial(word) and word[:1].isupper()


def _is_initial(word: str) -> bool:
    w = word.replace(".", "")
    return len(w) == 1 or (len(w) <= 3 and w.isupper() and "." in word)


@dataclass(frozen=True)
class PersonName:
    words: tuple[str, ...]  # the name without titles and suffixes: ("Vladimir", "Putin")
    suffix: str = ""  # a generational suffix, folded: "jr", "sr", "iii"

    @property
    def _surname_start(self) -> int:
        """Index of the first word of the surname: particles go with it ("bin Laden", "van Gogh")."""
        i = len(self.words) - 1
        while i > 1 and fold(self.words[i - 1]) in _NAME_PARTICLES:
            i -= 1
        if i == len(self.words) - 1 and i >= 2 and _syllable(self.words[i - 1]) and _syllable(self.words[i]):
            i -= 1  # "Kim Jong Un" = "Kim Jong-un", "Ban Ki Moon" = "Ban Ki-moon"
        return i

    @property
    def surname(self) -> str:
        return " ".join(self.words[self._surname_start :])

    @property
    def surname_keys(self) -> tuple[str, ...]:
        """Keys a surname alone may be written under: the whole surname, and without a Western particle
        ("Gogh" for "van Gogh") - never without an Arabic one ("Salman" is not "Mohammed bin Salman")."""
        whole = phonetic(self.surname)
        start = self._surname_start
        if len(self.words) == 2 and _EAST_ASIAN_GIVEN.match(self.words[1]):
            return (whole, phonetic(self.words[0]))  # "Wong Kwok-kin", "Kim Jong-un": the family name first
        if start < len(self.words) - 1 and fold(self.words[start]) not in _PATRONYMIC_PARTICLES:
            return (whole, phonetic(self.words[-1]))
        return (whole,)

    @property
    def first(self) -> str | None:
        """The given name when the name has one that is not a bare initial."""
        if len(self.words) < 2 or _is_initial(self.words[0]):
            return None
        return self.words[0]

    @property
    def middle_initials(self) -> str:
        """Initials of the words between the given name and the surname ("George W. Bush" -> "w")."""
        return "".join(fold(w)[:1] for w in self.words[1 : self._surname_start])

    @property
    def initial(self) -> str | None:
        return fold(self.words[0])[:1] if len(self.words) >= 2 else None

    @property
    def is_full(self) -> bool:
        return self.first is not None

    def key(self) -> str:
        """first|middle initials|surname|suffix: namesakes that differ in any of them stay apart."""
        first = self.first
        head = first_name_key(first) if first else ""
        mid = self.middle_initials if first else ""
        return f"{head}|{mid}|{phonetic(self.surname)}|{self.suffix}".rstrip("|")


def person_name(text: str) -> PersonName | None:
    """The name words of a person mention: titles and possessive dropped, a generational suffix kept apart;
    None when nothing is left."""
    words = [w.rstrip(",") for w in re.split(r"\s+", strip_possessive(text)) if w]
    suffix = ""
    while len(words) > 1 and (fold(words[-1]) in _SUFFIXES or fold(words[-1]) == ""):
        folded = fold(words.pop())
        if folded in _GENERATIONAL and not suffix:
            suffix = folded
    # Everything up to the last title goes: "Ukrainian President Volodymyr Zelenskyy" -> "Volodymyr Zelenskyy".
    last_title = max((i for i, w in enumerate(words[:-1]) if fold(w) in TITLES), default=-1)
    words = [w for w in words[last_title + 1 :] if fold(w)]
    return PersonName(tuple(words), suffix) if words else None


def entity_class(label: str) -> str:
    """The coarse class an id is made in: a place typed GPE in one article and LOC in another is one entity."""
    if label in PLACE_LABELS:
        return "place"
    return label.lower()


def key_of(label: str, name: str) -> str:
    """The transliteration-invariant key of a name: the person key, else :func:`phonetic` of the whole name."""
    if label == "PERSON":
        p = person_name(name)
        return p.key() if p else phonetic(name)
    return phonetic(name)


def local_id(family: str, key: str) -> str:
    """The id of a name the knowledge base does not know: the same in every process for a key and family."""
    return f"local:{family}:{digest(key, 12)}"


def entity_id(label: str, name: str) -> str:
    """The local id of the entity ``name`` of type ``label`` (what :mod:`.resolve` gives it when the
    knowledge base does not know it and the article has no other form of it)."""
    return local_id(entity_class(label), key_of(label, name))


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
