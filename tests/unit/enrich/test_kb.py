"""The knowledge base: what ships loads and links; bad files stop the worker at start with a clear error."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from services.common.settings.enrich import EnrichSettings
from services.enrich.kb import KbError, KnowledgeBase, add_curated, build_kb
from services.enrich.labels import Candidate
from services.enrich.resolve import link_article
from services.enrich.resources import Resources


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return build_kb()


def links(kb: KnowledgeBase, *mentions: tuple[str, str], text: str = "") -> list[tuple[str, str | None]]:
    cands = [Candidate(0, len(t), label, t) for t, label in mentions]
    return [(lk.id, lk.kb.name if lk.kb else None) for lk in link_article(cands, kb, text)]


@pytest.mark.parametrize(
    ("mention", "label", "kb_name"),
    [
        ("Kiev", "GPE", "Kyiv"),
        ("Bombay", "GPE", "Mumbai"),  # a renamed city under its old name (GeoNames alternate name)
        ("Leningrad", "GPE", "Saint Petersburg"),
        ("U.S.", "GPE", "United States"),
        ("UK", "GPE", "United Kingdom"),
        ("Russia", "ORG", "Russia"),  # a country typed ORG is still the country
        ("the EU", "GPE", "European Union"),  # a curated organisation typed GPE is still itself
        ("Hizballah", "ORG", "Hezbollah"),
        ("al-Qaida", "ORG", "Al-Qaeda"),
        ("Lukashenka", "PERSON", "Alexander Lukashenko"),
        ("Volodymyr Zelenskiy", "PERSON", "Volodymyr Zelenskyy"),
        ("Usama bin Ladin", "PERSON", "Osama bin Laden"),
        ("Moammar Qaddafi", "PERSON", "Muammar Gaddafi"),
        ("the State of Texas", "GPE", "Texas"),
    ],
)
def test_names_link_to_their_knowledge_base_entry(
    kb: KnowledgeBase, mention: str, label: str, kb_name: str
) -> None:
    ((_, name),) = links(kb, (mention, label))
    assert name == kb_name


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("England", "GPE"), ("United Kingdom", "GPE")),
        (("Republic of the Congo", "GPE"), ("Democratic Republic of the Congo", "GPE")),
        (("Niger", "GPE"), ("Nigeria", "GPE")),
        (("Iran", "GPE"), ("Iraq", "GPE")),
        (("Austria", "GPE"), ("Australia", "GPE")),
        (("George W. Bush", "PERSON"), ("George H. W. Bush", "PERSON")),
        (("Kim Jong-un", "PERSON"), ("Kim Jong-il", "PERSON")),
    ],
)
def test_look_alikes_stay_apart(kb: KnowledgeBase, a: tuple[str, str], b: tuple[str, str]) -> None:
    ((ia, _),) = links(kb, a)
    ((ib, _),) = links(kb, b)
    assert ia != ib


def test_a_city_typed_org_is_not_the_city(kb: KnowledgeBase) -> None:
    """ "Toronto beat Boston": a city's club is not the city."""
    ((team, name),) = links(kb, ("Toronto", "ORG"))
    ((city, _),) = links(kb, ("Toronto", "GPE"))
    assert name is None and team != city and team.startswith("local:org:")


def test_a_short_form_links_within_the_article_only_when_one_candidate_fits(kb: KnowledgeBase) -> None:
    got = links(kb, ("Indian National Congress", "ORG"), ("Congress", "ORG"))
    assert got[0] == got[1]  # "Congress" after "Indian National Congress" is that party, not the US Congress
    ((_, name),) = links(kb, ("Congress", "ORG"))
    assert name == "United States Congress"
    korea = links(kb, ("South Korea", "GPE"), ("Korea", "GPE"))
    assert korea[0] == korea[1]


def test_unknown_names_get_local_ids_that_merge_only_under_the_same_key_and_family(kb: KnowledgeBase) -> None:
    (a,) = links(kb, ("Abdul Rahman Mustafa", "PERSON"))
    (b,) = links(kb, ("Abdel Rahman Moustafa", "PERSON"))
    (c,) = links(kb, ("A. Mustafa", "PERSON"))  # an initial is not a first name
    (d,) = links(kb, ("Mustafa Holdings", "ORG"))
    (e,) = links(kb, ("Mustafa Holdings", "GPE"))
    assert a[0].startswith("local:person:") and a[1] is None
    assert a[0] == b[0] and c[0] != a[0] and d[0] != e[0]


def test_a_demonym_links_to_its_country_and_keeps_its_type(kb: KnowledgeBase) -> None:
    ((nid, name),) = links(kb, ("Ukrainian", "NORP"))
    ((cid, _),) = links(kb, ("Ukraine", "GPE"))
    assert name == "Ukraine" and nid == f"{cid}#norp"


def test_a_missing_kb_file_stops_loading_with_its_name(tmp_path: Path) -> None:
    cfg = EnrichSettings(kb_path=str(tmp_path / "nope.jsonl"))
    with pytest.raises(KbError, match=r"nope\.jsonl"):
        Resources.load(cfg)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b'{"kb_id": "wikidata:Q1", "name": "X", "type": "ORG"}\n{not json\n', "2: not JSON"),
        (b'{"kb_id": "wikidata:Q1", "type": "ORG"}\n', "1: needs kb_id, name"),
        (gzip.compress(b"x")[:8], "cannot be read"),
    ],
)
def test_a_corrupt_kb_file_stops_loading_with_the_line(tmp_path: Path, content: bytes, error: str) -> None:
    path = tmp_path / ("kb.jsonl.gz" if content[:2] == b"\x1f\x8b" else "kb.jsonl")
    path.write_bytes(content)
    with pytest.raises(KbError, match=error):
        build_kb(geonames=False, curated_path=None, imported=[path])


def test_a_curated_file_with_a_duplicate_alias_or_bad_qid_is_refused() -> None:
    with pytest.raises(KbError, match="already an alias"):
        add_curated(
            KnowledgeBase(),
            [
                {"name": "A Corp", "type": "ORG", "aliases": ["AC"]},
                {"name": "B Corp", "type": "ORG", "aliases": ["AC"]},
            ],
            "t",
        )
    with pytest.raises(KbError, match="qid"):
        add_curated(KnowledgeBase(), [{"name": "A", "type": "ORG", "qid": "123"}], "t")


def test_an_imported_entry_with_a_geonames_id_adds_its_names_to_that_place(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    rows = [
        {
            "kb_id": "wikidata:Q1899",
            "name": "Kyiv",
            "type": "GPE",
            "aliases": ["Kyjiw"],
            "geonames": "703448",
        },
        {"kb_id": "wikidata:Q999999", "name": "Imported Org", "type": "ORG", "aliases": ["IOrg"], "prior": 5},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kb = build_kb(imported=[path])
    assert links(kb, ("Kyjiw", "GPE")) == [("geonames:703448", "Kyiv")]
    assert links(kb, ("IOrg", "ORG")) == [("wikidata:Q999999", "Imported Org")]


def _in_text(kb: KnowledgeBase, text: str, *mentions: tuple[str, str]) -> list[str | None]:
    cands, pos = [], 0
    for surface, label in mentions:
        start = text.index(surface, pos)
        cands.append(Candidate(start, start + len(surface), label, surface))
        pos = start + len(surface)
    return [lk.kb.name if lk.kb else None for lk in link_article(cands, kb, text)]


@pytest.mark.parametrize(
    ("text", "mentions", "expected"),
    [
        ("He moved to New York in May.", [("New York", "GPE")], ["New York City"]),
        ("Upstate, New York State voters differ.", [("New York", "GPE")], ["New York"]),
        ("the state of New York sued", [("New York", "GPE")], ["New York"]),
        ("in Albany, New York, today", [("Albany", "GPE"), ("New York", "GPE")], ["Albany", "New York"]),
        ("Officials in Washington said", [("Washington", "GPE")], ["Washington"]),
        ("rain in Seattle and across Washington", [("Seattle", "GPE"), ("Washington", "GPE")], [None, None]),
    ],
)
def test_a_state_and_the_city_of_its_name_are_told_apart_by_the_article(
    kb: KnowledgeBase, text: str, mentions: list[tuple[str, str]], expected: list[str | None]
) -> None:
    got = _in_text(kb, text, *mentions)
    if expected[0] is None:  # Seattle named: "Washington" is the state
        washington = link_article(
            [Candidate(8, 15, "GPE", "Seattle"), Candidate(31, 41, "GPE", "Washington")], kb, text
        )[1]
        assert washington.kb is not None and washington.kb.kind == "state"
    else:
        assert got == expected
    if "Washington said" in text:
        (lk,) = link_article([Candidate(13, 23, "GPE", "Washington")], kb, text)
        assert lk.kb is not None and lk.kb.kind == "city"  # D.C., not the state


def test_places_the_model_typed_person_or_org_are_retyped_by_the_article() -> None:
    from services.enrich.labels import decide_labels
    from services.enrich.model import Span

    res = Resources.load(EnrichSettings())
    text = "Ferries leave Napier daily. We stayed in Napier. Walk to Jack London Square. Then in Coron, and near Coron."
    spans, pos = [], 0
    for surface, label in [
        ("Napier", "ORG"),
        ("Napier", "ORG"),
        ("Jack London Square", "PERSON"),
        ("Coron", "PERSON"),
        ("Coron", "PERSON"),
    ]:
        start = text.index(surface, pos)
        spans.append(Span(surface, label, start, start + len(surface)))
        pos = start + len(surface)
    got = [(c.text, c.label) for c in decide_labels(text, spans, res)]
    assert ("Jack London Square", "FAC") in got
    assert got.count(("Coron", "GPE")) == 2  # unknown, after "in" and "near": a place
    # an organisation only on its own cue ("Toronto" the team beside "in Toronto" stays the team)
    assert [label for t, label in got if t == "Napier"] == ["ORG", "GPE"]


def _ids_in_text(kb: KnowledgeBase, text: str, *mentions: tuple[str, str]) -> list[str]:
    cands, pos = [], 0
    for surface, label in mentions:
        start = text.index(surface, pos)
        cands.append(Candidate(start, start + len(surface), label, surface))
        pos = start + len(surface)
    return [lk.id for lk in link_article(cands, kb, text)]


def test_a_generic_word_stands_for_the_nearest_organisation_named_before_it_else_its_own(
    kb: KnowledgeBase,
) -> None:
    text = (
        "May it please the Court. The Federal Circuit Court ruled. Then the Court said no. "
        "The Ohio Supreme Court disagreed, and the Court was clear."
    )
    first, federal, second, ohio, third = _ids_in_text(
        kb,
        text,
        ("Court", "ORG"),
        ("Federal Circuit Court", "ORG"),
        ("Court", "ORG"),
        ("Ohio Supreme Court", "ORG"),
        ("Court", "ORG"),
    )
    assert first not in (federal, ohio)  # named before any court: not a court named later
    assert second == federal and third == ohio and federal != ohio


def test_the_state_of_a_place_typed_org_is_the_place(kb: KnowledgeBase) -> None:
    assert links(kb, ("The State of Ohio", "ORG")) == links(kb, ("Ohio", "GPE"))


def test_a_place_name_is_not_a_place_named_with_a_qualifier(kb: KnowledgeBase) -> None:
    region, river = links(kb, ("Casamance", "GPE"), ("the Casamance River", "LOC"))
    assert region != river
    county, shire = links(kb, ("North Yorkshire", "GPE"), ("Yorkshire", "GPE"))
    assert county != shire
    island, short = links(kb, ("Socotra Island", "LOC"), ("Socotra", "GPE"))
    assert island == short  # an island's name alone is the island


def test_a_compass_word_alone_is_the_one_place_named_with_it_else_a_place_of_the_article(
    kb: KnowledgeBase,
) -> None:
    text = "North Korea fired at South Korea. The South retaliated; the North said nothing."
    nk, sk, south, north = _ids_in_text(
        kb, text, ("North Korea", "GPE"), ("South Korea", "GPE"), ("South", "LOC"), ("North", "LOC")
    )
    assert south == sk and north == nk
    (a,) = _ids_in_text(kb, "flights across the Southwest", ("Southwest", "LOC"))
    (b,) = _ids_in_text(kb, "ranches of the Southwest", ("Southwest", "LOC"))
    assert a != b and a.startswith("local:place:")


def test_an_unknown_name_typed_org_and_place_in_one_article_keeps_one_id(kb: KnowledgeBase) -> None:
    text = "Members of Xyloria left. The Xyloria offices in Xyloria closed."
    ids = _ids_in_text(kb, text, ("Xyloria", "ORG"), ("Xyloria", "ORG"), ("Xyloria", "LOC"))
    assert len(set(ids)) == 1
    # a KB place and a city's club of its name stay apart
    assert len(set(_ids_in_text(kb, "Toronto won in Toronto", ("Toronto", "ORG"), ("Toronto", "GPE")))) == 2


def test_a_one_word_name_typed_person_and_org_in_one_article_keeps_one_id(kb: KnowledgeBase) -> None:
    text = "Xyloria said so. Shares of Xyloria fell as Xyloria hired."
    ids = _ids_in_text(kb, text, ("Xyloria", "PERSON"), ("Xyloria", "ORG"), ("Xyloria", "ORG"))
    assert len(set(ids)) == 1
    assert not ids[0].startswith("local:person")
    # a surname alone of a person named in full stays the person's, not the company of that word
    text = "Anna Xyloria spoke. Xyloria said so. Shares of Xyloria fell."
    ids = _ids_in_text(kb, text, ("Anna Xyloria", "PERSON"), ("Xyloria", "PERSON"), ("Xyloria", "ORG"))
    assert ids[0] == ids[1] != ids[2]


def test_an_ordinary_word_said_before_the_one_name_of_the_form_word_of_x_stands_for_it(
    kb: KnowledgeBase,
) -> None:
    text = "The Bureau asked. Later the Bureau of Xyloria Affairs replied."
    ids = _ids_in_text(kb, text, ("Bureau", "ORG"), ("the Bureau of Xyloria Affairs", "ORG"))
    assert ids[0] == ids[1]
    # a longer name headed by the word without "of" (a tier, a number) is another thing
    text = "The Bureau asked. Later the Bureau Pro replied."
    assert len(set(_ids_in_text(kb, text, ("Bureau", "ORG"), ("the Bureau Pro", "ORG")))) == 2


def test_names_the_model_cut_in_two_are_made_whole() -> None:
    from services.enrich.labels import decide_labels
    from services.enrich.model import Span

    res = Resources.load(EnrichSettings())
    text = (
        "We hiked Basse-Terre, saw Naqsh-e Jahan Square, met Wong Kwok-hing and played with Vitas Gerulaitis."
    )
    spans: list[Span] = []
    for surface, label in [
        ("Basse", "GPE"),
        ("Terre", "PERSON"),
        ("Naqsh", "GPE"),
        ("Jahan Square", "FAC"),
        ("Wong Kwok", "PERSON"),
        ("Gerulaitis", "PERSON"),
    ]:
        start = text.index(surface, spans[-1].end if spans else 0)
        spans.append(Span(surface, label, start, start + len(surface)))
    got = [(c.text, c.label) for c in decide_labels(text, spans, res)]
    assert got == [
        ("Basse-Terre", "GPE"),
        ("Naqsh-e Jahan Square", "FAC"),
        ("Wong Kwok-hing", "PERSON"),
        ("Vitas Gerulaitis", "PERSON"),
    ]


def test_a_surname_written_after_several_other_words_is_a_place_name_head() -> None:
    from services.enrich.labels import decide_labels
    from services.enrich.model import Span

    res = Resources.load(EnrichSettings())
    text = (
        "Islands: Basse Terre is green, Grande Terre is flat. Petite Terre is wild. Boats reach Terre often."
    )
    start = text.index("Petite Terre")
    spans = [Span("Petite Terre", "PERSON", start, start + 12)]
    got = [c.text for c in decide_labels(text, spans, res)]
    assert got == ["Petite Terre"]  # "Terre" alone is not added as her surname


def test_a_name_heading_an_indefinite_phrase_is_a_class_not_one_entity(kb: KnowledgeBase) -> None:
    text = "The square is a Grand Heritage Site. The mosque is also a Grand Heritage Site, since 1979."
    a, b = _ids_in_text(kb, text, ("Grand Heritage Site", "ORG"), ("Grand Heritage Site", "ORG"))
    assert a != b
    c, d = _ids_in_text(
        kb, "the Grand Heritage Site board met the Grand Heritage Site", *[("Grand Heritage Site", "ORG")] * 2
    )
    assert c == d


def test_campuses_of_one_university_are_apart(kb: KnowledgeBase) -> None:
    text = "the University of Zedland at Alpha and the University of Zedland at Beta"
    a, b = _ids_in_text(kb, text, ("University of Zedland", "ORG"), ("University of Zedland", "ORG"))
    assert a != b


def test_a_road_number_after_a_country_abbreviation_is_a_road() -> None:
    from services.enrich.labels import decide_labels
    from services.enrich.model import Span

    res = Resources.load(EnrichSettings())
    text = "Take US 169 north, then US-75; US cities differ and US 100 million dollars."
    spans = [Span("US", "GPE", m, m + 2) for m in (5, 24, 31, 52)]
    got = [(c.text, c.label) for c in decide_labels(text, spans, res)]
    assert got == [("US 169", "FAC"), ("US-75", "FAC"), ("US", "GPE"), ("US", "GPE")]


def test_an_unknown_org_spelled_as_a_variant_of_a_place_in_the_article_is_the_place(
    kb: KnowledgeBase,
) -> None:
    text = "Isfahan is old. Esfahan has bridges."
    city, variant = _ids_in_text(kb, text, ("Isfahan", "GPE"), ("Esfahan", "ORG"))
    assert city == variant and city.startswith("geonames:")


def test_a_demonym_several_countries_share_is_the_most_populous_ones(kb: KnowledgeBase) -> None:
    # countryinfo lists "American" for the Northern Mariana Islands too, "Indian" for the British Indian Ocean
    # Territory, "Dominican" for Dominica
    assert links(kb, ("American", "NORP"))[0][1] == "United States"
    assert links(kb, ("Indians", "NORP"))[0][1] == "India"
    assert links(kb, ("Dominican", "NORP"))[0][1] == "Dominican Republic"


def _labelled(text: str, *mentions: tuple[str, str]) -> list[tuple[str, str, str]]:
    """(surface, label, id) of each mention after the label decisions and linking of the full step."""
    from services.enrich.model import Span
    from services.enrich.resolve import resolve

    spans, pos = [], 0
    for surface, label in mentions:
        start = text.index(surface, pos)
        spans.append(Span(surface, label, start, start + len(surface)))
        pos = start + len(surface)
    return [(m.text, m.type, m.id) for m in resolve(text, spans, Resources.load(EnrichSettings()))]


def test_a_list_item_that_starts_one_organisation_named_in_full_is_that_organisation() -> None:
    text = (
        "It is a hub for American Airlines and Southwest Airlines, in the American Southwest. "
        "Terminal 4: Air Canada, American, British Airways, Southwest, Volaris. Ranches of the Southwest."
    )
    got = _labelled(
        text,
        ("American Airlines", "ORG"),
        ("Southwest Airlines", "ORG"),
        ("American", "NORP"),
        ("Air Canada", "ORG"),
        ("American", "NORP"),
        ("British Airways", "ORG"),
        ("Southwest", "LOC"),
        ("Volaris", "ORG"),
        ("Southwest", "LOC"),
    )
    aa, sw, norp, _, american, _, southwest, _, region = got
    assert american[1:] == ("ORG", aa[2]) and southwest[1:] == ("ORG", sw[2])
    assert norp[1] == "NORP"  # "the American Southwest": not a list item, stays a demonym
    assert region[1] == "LOC" and region[2] != sw[2]  # the region, not the airline of that word


def test_a_name_beside_an_organisation_in_an_address_is_not_a_list_item() -> None:
    text = "Bataan Peninsula State University, Balanga City Bataan, Philippines Institute, 2100"
    got = _labelled(
        text,
        ("Bataan Peninsula State University", "ORG"),
        ("Balanga City", "GPE"),
        ("Bataan", "GPE"),
        ("Philippines Institute", "ORG"),
    )
    assert got[2][1] == "GPE" and got[2][2] != got[0][2]


def test_a_name_found_whole_once_is_whole_where_the_model_found_only_a_part() -> None:
    text = (
        "A Zorvex Canada document was found. Zorvex Canada spokesperson Ann Lee said so. "
        "Canada agreed. The Zorvex Canada Times wrote."
    )
    got = _labelled(
        text,
        ("Zorvex Canada", "ORG"),
        ("Canada", "GPE"),
        ("Ann Lee", "PERSON"),
        ("Canada", "GPE"),
        ("Zorvex Canada Times", "ORG"),
    )
    org, part, _, country, paper = got
    assert part == ("Zorvex Canada", "ORG", org[2])
    assert country[1] == "GPE" and country[2] != org[2]  # the country named alone stays the country
    assert paper[:2] == ("Zorvex Canada Times", "ORG")  # a longer span of the model stays whole


def test_a_place_name_heading_a_facility_the_model_cut_short_is_the_facility() -> None:
    text = "Games at Cleveland Browns Stadium for the NFL Browns. Rain in Cleveland. Walk the Tulsa Bridge, NFL said."
    got = _labelled(
        text, ("Cleveland", "GPE"), ("NFL", "ORG"), ("Cleveland", "GPE"), ("Tulsa", "GPE"), ("NFL", "ORG")
    )
    assert got[0][:2] == ("Cleveland Browns Stadium", "FAC")
    assert got[2][:2] == ("Cleveland", "GPE") and got[2][2] != got[0][2]  # the city named alone
    assert got[3][:2] == ("Tulsa Bridge", "FAC")
    # a capitalized word after a place that is no facility's head leaves the place alone
    (alone,) = _labelled("Flights from Cleveland Monday on.", ("Cleveland", "GPE"))
    assert alone[:2] == ("Cleveland", "GPE")


def test_a_us_state_postal_code_after_a_town_is_the_state() -> None:
    text = (
        "between the Paramus, NJ retail corridor and New Jersey. Counsel Stephen Molomby, SC said. NJ agreed."
    )
    got = _labelled(
        text,
        ("Paramus", "ORG"),
        ("NJ", "ORG"),
        ("New Jersey", "GPE"),
        ("Stephen Molomby", "PERSON"),
        ("SC", "ORG"),
        ("NJ", "ORG"),
    )
    assert got[1][1] == "GPE" and got[1][2] == got[2][2]  # "Paramus, NJ": New Jersey
    assert got[4][1] == "ORG"  # after a person's name: a postnominal (senior counsel), not South Carolina
    assert got[5][2] != got[2][2]  # a code alone is not linked


def test_the_state_code_after_a_town_is_marked_by_labels_and_linked_by_that_mark(kb: KnowledgeBase) -> None:
    from services.enrich.labels import decide_labels
    from services.enrich.model import Span

    text = "the Paramus, NJ retail corridor"
    spans = [Span("Paramus", "ORG", 4, 11), Span("NJ", "ORG", 13, 15)]
    town, code = decide_labels(text, spans, Resources.load(EnrichSettings()))
    assert not town.state_code and code.state_code and code.label == "GPE"
    # linking reads the mark, not the text again: the same candidates unmarked are not the state
    marked = link_article([town, code], kb, text)[1]
    assert marked.kb is not None and marked.kb.name == "New Jersey"
    code.state_code = False
    assert link_article([town, code], kb, text)[1].kb is None


def test_an_abbreviation_defined_in_parentheses_stands_for_its_name_in_the_article(kb: KnowledgeBase) -> None:
    text = "The Xyloria College of Pediatricians (XCPeds) met. Later XCPeds said so. XC agreed."
    full, abbr, other = _ids_in_text(
        kb, text, ("The Xyloria College of Pediatricians", "ORG"), ("XCPeds", "ORG"), ("XC", "ORG")
    )
    assert abbr == full and other != full  # only the letters the article defined
    # letters that are not the name's initials in order are not its abbreviation
    text = "The Xyloria College of Pediatricians (PCX) met. Later PCX said so."
    full, abbr = _ids_in_text(kb, text, ("The Xyloria College of Pediatricians", "ORG"), ("PCX", "ORG"))
    assert abbr != full


def test_initials_of_a_name_with_its_head_noun_are_that_name(kb: KnowledgeBase) -> None:
    text = "Cross the Xyloria Quorn Bridge at dawn; the XQ Bridge is busy. The XQ Tower is not."
    full, short, other = _ids_in_text(
        kb, text, ("the Xyloria Quorn Bridge", "FAC"), ("the XQ Bridge", "FAC"), ("The XQ Tower", "FAC")
    )
    assert short == full and other != full  # another head noun is another thing


def test_a_name_given_as_known_as_another_is_that_thing(kb: KnowledgeBase) -> None:
    text = (
        "Xyloria, known as Xylorya in the local creole, and sometimes known as the Quorn Isle, is an island. "
        "Visit Xylorya. A town called Pexa (originally called New Pexa) is there. Smith, called Jones, left."
    )
    place, alias, second, again, town, old, smith, jones = _ids_in_text(
        kb,
        text,
        ("Xyloria", "GPE"),
        ("Xylorya", "PERSON"),
        ("the Quorn Isle", "LOC"),
        ("Xylorya", "PERSON"),
        ("Pexa", "PERSON"),
        ("New Pexa", "GPE"),
        ("Smith", "PERSON"),
        ("Jones", "PERSON"),
    )
    assert alias == second == again == place  # every mention of the other name, whatever its type
    assert town == old and not town.startswith("local:person")  # the name not typed PERSON gives the id
    assert smith != jones  # "called" without an adverb is a verb


def test_an_acronym_of_one_name_in_full_wins_over_a_longer_name_that_starts_with_it(
    kb: KnowledgeBase,
) -> None:
    text = "The University of Xyloria Quorn opened. UXQ Art Collections lent works. UXQ said so."
    full, parts, short = _ids_in_text(
        kb, text, ("The University of Xyloria Quorn", "ORG"), ("UXQ Art Collections", "ORG"), ("UXQ", "ORG")
    )
    assert short == full and parts != full


def test_a_nickname_in_quotes_in_parentheses_is_the_name_before_it(kb: KnowledgeBase) -> None:
    text = 'Games are at Xyloria Arena ("The Qx") downtown. The Qx is loud. Pexa Hall (Quorn) is not.'
    arena, nick, again, hall, other = _ids_in_text(
        kb,
        text,
        ("Xyloria Arena", "FAC"),
        ("The Qx", "WORK_OF_ART"),
        ("The Qx", "WORK_OF_ART"),
        ("Pexa Hall", "FAC"),
        ("Quorn", "GPE"),
    )
    assert nick == again == arena
    assert other != hall  # a name in parentheses without quotes may be its place ("Moscow (Russia)")


@pytest.mark.parametrize(
    ("former", "country"),
    [
        ("Persia", "Iran"),
        ("Siam", "Thailand"),
        ("Ceylon", "Sri Lanka"),
        ("Formosa", "Taiwan"),
        ("Burma", "Myanmar"),
    ],
)
def test_a_country_under_its_name_before_a_renaming_is_that_country(
    kb: KnowledgeBase, former: str, country: str
) -> None:
    (got,) = links(kb, (former, "GPE"))
    assert got[1] == country
    assert links(kb, (country, "GPE")) == [got]


def test_a_one_word_name_typed_person_takes_the_id_of_its_other_mentions_under_the_invariant_key(
    kb: KnowledgeBase,
) -> None:
    text = "From the Zarnavid era. Then the Zarnnavid era came. Zorq said so. A Zarnavid dome."
    era, misspelt, person, dome = _ids_in_text(
        kb, text, ("Zarnavid", "NORP"), ("Zarnnavid", "PERSON"), ("Zorq", "PERSON"), ("Zarnavid", "NORP")
    )
    assert misspelt == era == dome and person != era
    # a person named in full carrying the word keeps the word alone a person's
    text = "Ann Zarnavid came. The Zarnavid era. Zarnnavid said. A Zarnavid dome."
    _, era, alone, _ = _ids_in_text(
        kb,
        text,
        ("Ann Zarnavid", "PERSON"),
        ("Zarnavid", "NORP"),
        ("Zarnnavid", "PERSON"),
        ("Zarnavid", "NORP"),
    )
    assert alone != era


def test_a_span_running_over_a_line_break_is_one_name_per_line() -> None:
    from services.enrich.labels import decide_labels
    from services.enrich.model import Span

    text = "Zorvexia\n\nZorvexia, known as Zorvexland, is an island. Monday, May 4\n\nRain."
    spans = [Span("Zorvexia\n\nZorvexia", "GPE", 0, 18), Span("Zorvexland", "GPE", 29, 39)]
    got = [(c.text, c.label, c.start) for c in decide_labels(text, spans, Resources.load(EnrichSettings()))]
    assert got == [("Zorvexia", "GPE", 0), ("Zorvexia", "GPE", 10), ("Zorvexland", "GPE", 29)]
    # the name right before "known as" is now a span of its own: one id for the three
    assert len({m[2] for m in _labelled(text, ("Zorvexia\n\nZorvexia", "GPE"), ("Zorvexland", "GPE"))}) == 1


def test_a_romance_organisation_name_cut_at_its_function_word_is_made_whole() -> None:
    text = "Clara Ruiz, Universidad Nacional de Zorvección a Distancia, Spain. They gave Zorvex Company a Ferrari."
    got = _labelled(
        text,
        ("Clara Ruiz", "PERSON"),
        ("Universidad Nacional de Zorvección", "ORG"),
        ("Distancia", "PERSON"),
        ("Spain", "GPE"),
        ("Zorvex Company", "ORG"),
        ("Ferrari", "ORG"),
    )
    assert got[1][:2] == ("Universidad Nacional de Zorvección a Distancia", "ORG")
    # an English name before "a": no function word of that language inside it, so two names
    assert [g[0] for g in got[-2:]] == ["Zorvex Company", "Ferrari"]


def test_a_name_ending_in_a_compass_word_is_a_region_and_the_word_alone_stands_for_it() -> None:
    text = (
        "the biggest city of the Zorvexan Southwest. Like much of the Southwest, it is dry. Ann North said."
    )
    got = _labelled(text, ("the Zorvexan Southwest", "ORG"), ("Southwest", "LOC"), ("Ann North", "PERSON"))
    assert got[0][1] == "LOC" and got[1][2] == got[0][2]
    assert got[2][1] == "PERSON"  # a surname stays a surname
    # an organisation "of the" region keeps its type, and a span that is no plain name is left alone
    (bank,) = _labelled("Bank of the Southwest said.", ("Bank of the Southwest", "ORG"))
    assert bank[1] == "ORG"
    (road,) = _labelled("From the North / Kansas-US-75 South on.", ("North / Kansas-US-75 South", "ORG"))
    assert road[1] == "ORG"


def test_a_name_typed_person_before_a_house_number_is_a_street_address() -> None:
    text = "Boats at Zorvø. Zorvø Brovej 12 (Zorvø), tel. Then Ann Gass 1997, and Ann Lee 7 Main Plaza."
    got = _labelled(
        text,
        ("Zorvø", "PRODUCT"),
        ("Zorvø Brovej", "PERSON"),
        ("Zorvø", "PERSON"),
        ("Ann Gass", "PERSON"),
        ("Ann Lee", "PERSON"),
    )
    assert got[1][1] == "FAC"
    assert got[2][2] == got[0][2]  # no person carries the word now: the island typed PERSON is the island
    assert got[3][1] == got[4][1] == "PERSON"  # a year, a list's next number


def test_a_state_name_is_the_city_of_its_name_when_the_article_names_that_city_in_full(
    kb: KnowledgeBase,
) -> None:
    text = "transplants from New York, views of Manhattan, ferries from New York City."
    ny, _, nyc = link_article(
        [
            Candidate(17, 25, "GPE", "New York"),
            Candidate(36, 45, "GPE", "Manhattan"),
            Candidate(60, 73, "GPE", "New York City"),
        ],
        kb,
        text,
    )
    assert ny.kb is not None and nyc.kb is not None and ny.kb.kb_id == nyc.kb.kb_id
    # without the city in full, another town of the state still makes it the state
    ny, _ = link_article(
        [Candidate(17, 25, "GPE", "New York"), Candidate(36, 45, "GPE", "Manhattan")], kb, text
    )
    assert ny.kb is not None and ny.kb.kind == "state"


def test_an_ordinary_word_stands_for_the_one_name_the_article_describes_with_it(kb: KnowledgeBase) -> None:
    text = "Zorvava is a group of islands. About 900 people live in the Group. A group of divers came."
    isles, group = _ids_in_text(kb, text, ("Zorvava", "ORG"), ("Group", "ORG"))
    assert group == isles
    # two names described so: neither
    text = "Zorvava is a group of islands, and Zarnava is a small group too. People live in the Group."
    a, b, group = _ids_in_text(kb, text, ("Zorvava", "ORG"), ("Zarnava", "ORG"), ("Group", "ORG"))
    assert group not in (a, b)


def test_aka_gives_another_name_and_a_facility_in_parentheses_is_the_facility(kb: KnowledgeBase) -> None:
    text = (
        'Roads: ZR 169 (Zorvex Valley Expressway, aka "Zarn Memorial Expressway"), and Moscow (Zorvexia) too.'
    )
    road, name, other, city, country = _ids_in_text(
        kb,
        text,
        ("ZR 169", "FAC"),
        ("Zorvex Valley Expressway", "FAC"),
        ("Zarn Memorial Expressway", "WORK_OF_ART"),
        ("Moscow", "GPE"),
        ("Zorvexia", "GPE"),
    )
    assert road == name == other
    assert city != country  # a place in parentheses is where it is


def test_a_compass_word_alone_never_stands_for_two_places_named_together(kb: KnowledgeBase) -> None:
    text = "North Korea fired. North and South Korea traded fire. The North said so."
    nk, both, north = _ids_in_text(
        kb, text, ("North Korea", "GPE"), ("North and South Korea", "GPE"), ("North", "LOC")
    )
    assert north == nk != both


def test_a_name_the_article_says_is_a_place_is_a_place() -> None:
    text = "See the Zarupu National Historic Scenic Reserve. Zarupu is a special place, and calm. Ann is a small town girl."
    got = _labelled(
        text, ("Zarupu National Historic Scenic Reserve", "LOC"), ("Zarupu", "ORG"), ("Ann", "PERSON")
    )
    assert got[1][1] == "LOC" and got[1][2] == got[0][2]  # and then the reserve's short form
    assert got[2][1] == "PERSON"  # "a small town girl" is no town
