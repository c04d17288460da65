"""Dedupe worker settings. Each threshold says why it has its default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DedupeSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    window_days: int = Field(
        30, ge=1,
        description="state entries older than this (by published_at, else ingested_at) expire: syndication of "
        "one story happens within days, so 30 keeps every real copy and bounds the state",
    )
    min_words: int = Field(
        8, ge=1, description="texts shorter than this are too short to compare; they are judged unique",
    )
