from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ops.embedded import Stack, start_stack

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
SEEDS = REPO / "seeds"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A real Tansu broker and osmem search server on free loopback ports, for the whole session."""
    s = start_stack(tmp_path_factory.mktemp("stack"))
    yield s
    s.stop()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"test data not found at {SHARED_DATA} (the shared/ folder beside the checkout)")
    return SHARED_DATA
