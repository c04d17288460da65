"""Canonical ids: spelling variants of one entity share an id, similar names of different entities do not."""

from __future__ import annotations

import pytest

from services.enrich.canonical import AliasError, Aliases, entity_id, fold, person_name, phonetic

SAME = [
    ("GPE", "Kyiv", "GPE", "Kyïv"),
    ("GPE", "U.S.", "GPE", "US"),
    ("GPE", "the United States", "LOC", "United States"),
    ("PERSON", "Zelensky", "PERSON", "Zelenskyy"),
    ("PERSON", "Zelenskiy", "PERSON", "Zelenskyy"),
    ("PERSON", "Volodymyr Zelenskiy", "PERSON", "Volodymyr Zelenskyy"),
    ("PERSON", "Lukashenka", "PERSON", "Lukashenko"),
    ("PERSON", "Alyaksandr Lukashenka", "PERSON", "Alexander Lukashenko"),
    ("PERSON", "Aleksandr Lukashenko", "PERSON", "Alexander Lukashenko"),
    ("PERSON", "Oleskiy Kuleba", "PERSON", "Olesky Kuleba"),
    ("PERSON", "President Vladimir Putin", "PERSON", "Vladimir Putin"),
    ("PERSON", "Putin's", "PERSON", "Putin"),
    ("PERSON", "Vladimir Putin", "PERSON", "Wladimir Putin"),
    ("PERSON", "Dmitry Peskov", "PERSON", "Dmitri Peskov"),
    # Arabic romanizations: q/k/g/gh, dh/d/th, ou/u/o, e/i, doubled letters, "al-"
    ("PERSON", "Yasser Arafat", "PERSON", "Yasir Arafat"),
    ("PERSON", "Osama bin Laden", "PERSON", "Usama bin Ladin"),
    ("PERSON", "Muqtada al-Sadr", "PERSON", "Moqtada Sadr"),
    ("PERSON", "Muammar Qaddafi", "PERSON", "Muammar Gaddafi"),
    ("PERSON", "Muammar Kadhafi", "PERSON", "Moammar Qathafi"),
    ("PERSON", "Saddam Hussein", "PERSON", "Saddam Husayn"),
    ("ORG", "Hezbollah", "ORG", "Hizbullah"),
    ("ORG", "al-Qaeda", "ORG", "Al Qaida"),
    ("GPE", "Baghdad", "GPE", "Bagdad"),
    ("PERSON", "Kim Jong Un", "PERSON", "Kim Jong-un"),
]

APART = [
    ("PERSON", "Kim Jong-un", "PERSON", "Kim Jong-il"),
    ("PERSON", "Bill Clinton", "PERSON", "Hillary Clinton"),
    ("GPE", "Austria", "GPE", "Australia"),
    ("GPE", "Iran", "GPE", "Iraq"),
    ("PERSON", "Lee", "PERSON", "Li"),
    ("PERSON", "Ivanov", "PERSON", "Ivanova"),
    ("PERSON", "Paris", "GPE", "Paris"),
    # namesakes: middle initials, generational suffixes, different first names, compound names
    ("PERSON", "George W. Bush", "PERSON", "George H. W. Bush"),
    ("PERSON", "George W. Bush", "PERSON", "George Bush"),
    ("PERSON", "Martin Luther King Jr.", "PERSON", "Martin Luther King Sr."),
    ("PERSON", "Hassan Nasrallah", "PERSON", "Hussein Nasrallah"),
    ("PERSON", "Mohammed bin Salman", "PERSON", "Salman"),
    ("PERSON", "Omar Khan", "PERSON", "Amir Khan"),
    ("GPE", "Niger", "GPE", "Nigeria"),
    ("GPE", "Republic of the Congo", "GPE", "Democratic Republic of the Congo"),
]


@pytest.mark.parametrize(("t1", "n1", "t2", "n2"), SAME)
def test_spelling_variants_share_one_id(t1: str, n1: str, t2: str, n2: str) -> None:
    assert entity_id(t1, n1) == entity_id(t2, n2)


@pytest.mark.parametrize(("t1", "n1", "t2", "n2"), APART)
def test_similar_names_of_different_entities_stay_apart(t1: str, n1: str, t2: str, n2: str) -> None:
    assert entity_id(t1, n1) != entity_id(t2, n2)


def test_ids_are_deterministic_strings_of_class_and_digest() -> None:
    assert entity_id("PERSON", "Vladimir Putin") == entity_id("PERSON", "Vladimir Putin")
    assert entity_id("PERSON", "Vladimir Putin").startswith("local:person:")
    assert entity_id("LOC", "Donbas").startswith("local:place:")


@pytest.mark.parametrize(
    ("word", "key"),
    [
        ("Zelenskyy", "zilinski"),
        ("Lukashenka", "lukashink"),
        ("Lukashenko", "lukashink"),
        ("al-Sadr", "sadr"),
        ("Jong-un", "iunkun"),
        ("Jong Un", "iunkun"),
        ("Lee", "lee"),
        ("Kafka", "kafka"),  # -ka folds only on 7+ letters
    ],
)
def test_phonetic_key_folds_transliteration_but_gates_short_words(word: str, key: str) -> None:
    assert phonetic(word) == key


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Ukrainian President Volodymyr Zelenskyy", ("Volodymyr", "Zelenskyy")),
        ("Gen. Mark Milley", ("Mark", "Milley")),
        ("Putin’s", ("Putin",)),
        (
            "Martin Luther King Jr.",
            ("Martin", "Luther", "King"),
        ),  # the suffix is kept apart (PersonName.suffix)
    ],
)
def test_person_name_drops_titles_possessives_and_suffixes(text: str, words: tuple[str, ...]) -> None:
    p = person_name(text)
    assert p is not None and p.words == words


def test_fold_ignores_case_accents_periods_the_and_possessive() -> None:
    assert fold("the U.S.'s") == "us"
    assert fold("Kyïv") == "kyiv"


ALIASES = Aliases.from_entries(
    [
        {"name": "Kyiv", "type": "GPE", "aliases": ["Kiev"]},
        {"name": "Volodymyr Zelenskyy", "type": "PERSON", "aliases": ["Zelensky", "Volodymyr Zelensky"]},
        {"name": "United States", "type": "GPE", "aliases": ["US", "America"]},
    ]
)


@pytest.mark.parametrize(
    ("text", "label", "name", "type_"),
    [
        ("Kiev", "PERSON", "Kyiv", "GPE"),  # the alias file decides the type against the model
        ("Zelenskiy", "GPE", "Volodymyr Zelenskyy", "PERSON"),  # a variant the file does not list, by key
        ("Volodymyr Zelenskyi", "PERSON", "Volodymyr Zelenskyy", "PERSON"),
        ("U.S.", "GPE", "United States", "GPE"),
    ],
)
def test_alias_file_resolves_variants_by_key(text: str, label: str, name: str, type_: str) -> None:
    hit = ALIASES.lookup(text, label)
    assert hit is not None and (hit.name, hit.type) == (name, type_)
    assert hit.id == entity_id(type_, name)


def test_alias_file_rejects_an_alias_given_to_two_entities() -> None:
    with pytest.raises(AliasError):
        Aliases.from_entries(
            [
                {"name": "A Smith", "type": "PERSON", "aliases": ["Smith"]},
                {"name": "B Smith", "type": "PERSON", "aliases": ["Smith"]},
            ]
        )


def test_alias_file_rejects_unknown_types() -> None:
    with pytest.raises(AliasError):
        Aliases.from_entries([{"name": "Kyiv", "type": "CITY"}])


def test_shipped_alias_file_loads() -> None:
    from services.enrich.resources import DEFAULT_ALIASES

    aliases = Aliases.load(DEFAULT_ALIASES)
    assert aliases.lookup("Kiev", "GPE") is not None
    assert aliases.lookup("Lukashenka", "PERSON") == aliases.lookup("Alexander Lukashenko", "PERSON")
