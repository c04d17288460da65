"""The feed state file lives in the data dir, so what a feed poll remembered survives a restart from anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.settings import Settings
from services.ingest.sources.feeds import FeedMemo, FeedState


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        (".newsflow/feeds-state.json", "DATA/feeds-state.json"),
        ("feeds/state.json", "DATA/feeds/state.json"),
        ("/abs/state.json", "/abs/state.json"),
    ],
)
def test_feed_state_path_is_taken_in_the_data_dir(configured: str, expected: str, tmp_path: Path) -> None:
    state = FeedState.in_data_dir(tmp_path, configured, 10)
    assert state.path == Path(expected.replace("DATA", str(tmp_path)))


def test_validators_and_seen_entries_saved_by_one_run_are_loaded_by_the_next(tmp_path: Path) -> None:
    s = Settings(data_dir=str(tmp_path / "nf"))
    first = FeedState.in_data_dir(s.data_dir, s.ingest.feed_state_path, s.ingest.feed_seen_max)
    first.save(
        {"https://x.test/feed": FeedMemo(etag='"v1"', last_modified="Mon, 01 Jan 2024", seen=["a", "b"])}
    )
    again = FeedState.in_data_dir(s.data_dir, s.ingest.feed_state_path, s.ingest.feed_seen_max).load()
    assert again == {
        "https://x.test/feed": FeedMemo(etag='"v1"', last_modified="Mon, 01 Jan 2024", seen=["a", "b"])
    }
    assert first.path.parent == tmp_path / "nf"
