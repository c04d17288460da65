"""What the enrich step reads besides the model: the curated alias file and the gazetteer (loaded once)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from services.common.paths import DEPLOY_DIR
from services.common.settings.enrich import EnrichSettings
from services.enrich.canonical import Aliases
from services.enrich.gazetteer import Gazetteer, load_gazetteer
from services.enrich.kb import KnowledgeBase, build_kb

DEFAULT_ALIASES = DEPLOY_DIR / "entities" / "aliases.yaml"
log = logging.getLogger(__name__)

# Corrections applied on top of the model. Each one is kept only because scripts/eval_ner.py measured that it
# raises entity F1 on GUM news (see the README's NER section for the numbers); the others stay available for
# measuring again (``--ablate``) but are off.
ALL_FIXES = frozenset(
    {
        "truecase",  # ALL-CAPS lines and datelines back to ordinary case before the model
        "possessive",  # "Putin's" -> "Putin"
        "titles",  # "President Vladimir Putin" (PERSON) -> "Vladimir Putin"
        "demonyms",  # "Ukrainian" typed GPE/PERSON/ORG -> NORP
        "doc_person",  # "Paris" typed GPE where the article names "Valeska Paris" -> PERSON
        "place_person",  # a known place typed PERSON ("Kyiv") -> GPE
        "place_org",  # a known place typed ORG ("Herat") -> GPE
        "place_add",  # a prominent place the model missed -> GPE
        "label_vote",  # one surface, one label per article (majority)
        "acronyms",  # "Korean Central News Agency (KCNA)": KCNA takes the full name's id
        "trim",  # "a World Health Organisation (WHO" -> "World Health Organisation"
        "surname_add",  # "Montalvo" missed by the model where the article names "Daniel Montalvo" -> PERSON
        "kb_add",  # a name the knowledge base knows well that the model missed (countries, curated entities)
        "span_join",  # a name the model cut in two made whole ("Basse" + "-Terre", "Grande" + "Terre")
        "place_cues",  # PERSON/ORG re-typed as a place by its head noun or "in X" for a place the KB knows
        "span_whole",  # "Canada" of "Environment Canada spokesperson" where "Environment Canada" is found whole
        "place_fac",  # "Cleveland" + "Browns Stadium" -> the facility "Cleveland Browns Stadium" (FAC)
        "state_code",  # "Paramus, NJ": a US state's postal code after a town is the state (GPE)
        "list_org",  # "American, British Airways, Southwest" beside "American Airlines": the organisation's short form
        "span_break",  # "Guadeloupe\n\nGuadeloupe" (a headline and the first word after it): a name per line
    }
)
DEFAULT_FIXES = frozenset(ALL_FIXES - {"place_add"})


@dataclass(frozen=True)
class Resources:
    aliases: Aliases = field(default_factory=Aliases.empty)
    gazetteer: Gazetteer | None = None
    kb: KnowledgeBase | None = None
    fixes: frozenset[str] = DEFAULT_FIXES
    # A gazetteer place overrides the model's PERSON/ORG only when at least this prominent (population).
    min_prominence: int = 500_000

    @classmethod
    def load(cls, cfg: EnrichSettings, fixes: frozenset[str] = DEFAULT_FIXES) -> Resources:
        path = Path(cfg.aliases_path) if cfg.aliases_path else DEFAULT_ALIASES
        aliases = Aliases.load(path) if path.exists() or cfg.aliases_path else Aliases.empty()
        gaz = _gazetteer(cfg.min_city_population) if cfg.gazetteer else None
        aliases_file = str(path) if path.exists() or cfg.aliases_path else None
        kb = _kb(aliases_file, cfg.kb_path, cfg.min_city_population) if cfg.linking else None
        return cls(aliases=aliases, gazetteer=gaz, kb=kb, fixes=fixes)


@lru_cache(maxsize=2)
def _gazetteer(min_city_population: int) -> Gazetteer:
    return load_gazetteer(min_city_population)


@lru_cache(maxsize=2)
def _kb(aliases_path: str | None, kb_path: str | None, min_city_population: int) -> KnowledgeBase:
    """The knowledge base, built once per process (KbError when a file is missing or malformed)."""
    kb = build_kb(
        aliases_path=Path(aliases_path) if aliases_path else None,
        imported=[Path(kb_path)] if kb_path else [],
        min_city_population=min_city_population,
    )
    log.info(
        "knowledge base loaded entries=%d names=%d seconds=%.2f",
        len(kb.entries),
        len(kb.names),
        kb.load_seconds,
    )
    return kb


@lru_cache(maxsize=4)
def default_resources(cfg: EnrichSettings) -> Resources:
    """Resources for ``cfg``, loaded on first use and kept for the life of the process."""
    return Resources.load(cfg)
