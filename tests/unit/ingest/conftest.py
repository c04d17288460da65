"""Shared fixtures of the ingest unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.settings.ingest import IngestSettings

REPO = Path(__file__).resolve().parents[3]
BENCHMARK = REPO.parent / "shared" / "data" / "extraction-benchmark"


@pytest.fixture
def cfg() -> IngestSettings:
    return IngestSettings()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def fixtures_dir() -> Path:
    return REPO / "tests" / "fixtures" / "ingest"


@pytest.fixture
def benchmark() -> Path:
    """The extraction benchmark folder (html/*.html.gz + ground-truth.json), or skip when it is absent."""
    if not (BENCHMARK / "ground-truth.json").exists():
        pytest.skip(f"extraction benchmark not found at {BENCHMARK} (shared/data is kept beside the repo)")
    return BENCHMARK
