"""Index worker settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IndexSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    batch_size: int = Field(500, ge=1, description="documents per bulk request at most")
    batch_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="bytes per bulk request at most")
    batch_wait_s: float = Field(
        0.1, ge=0, description="longest wait to fill a bulk request (a backlog fills it at once)"
    )
    retries: int = Field(6, ge=0, description="retries of a 429/5xx item before it is dead-lettered")
    backoff_base_s: float = Field(0.2, gt=0, description="first retry delay; doubles each try, with jitter")
    duplicates_kept: int = Field(
        20,
        ge=0,
        description="sources a document lists in duplicates[] (the first ones); every copy is counted exactly "
        "(duplicate_count, per kind and outlet) and listed once in the <alias>-sources index",
    )
    backoff_max_s: float = Field(10.0, gt=0, description="longest delay between tries")
