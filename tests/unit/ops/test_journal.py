"""After a run that did not stop cleanly, the journal says what the restored snapshot lacks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from services.ops.journal import JOURNAL, REINGEST, unfinished


def write(path: Path, rows: list[dict[str, str]]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / JOURNAL).write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"ev": "in", "id": "cut')


def t(minute: int) -> str:
    return datetime(2026, 1, 1, 12, minute, tzinfo=UTC).isoformat()


def test_inputs_unfinished_at_the_snapshot_and_articles_indexed_after_it_are_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            {"ev": "in", "id": "a", "source": "old.txt", "t": t(1)},
            {"ev": "article", "id": "a", "t": t(2)},
            {"ev": "done", "id": "a", "t": t(2)},
            {"ev": "in", "id": "b", "source": "late.jsonl", "t": t(3)},
            {"ev": "article", "id": "b", "t": t(6)},
            {"ev": "done", "id": "b", "t": t(6)},
            {"ev": "in", "id": "c", "source": "never.txt", "t": t(7)},
        ],
    )
    gap = unfinished(tmp_path, datetime(2026, 1, 1, 12, 5, tzinfo=UTC))
    assert gap is not None
    assert (gap.inputs, gap.articles_after_snapshot) == (2, 1)
    assert (tmp_path / REINGEST).read_text().splitlines() == ["late.jsonl", "never.txt"]
    assert not (tmp_path / JOURNAL).exists(), "read once: the next start of a clean run reports nothing"
    assert unfinished(tmp_path, None) is None


def test_without_a_snapshot_every_input_is_missing(tmp_path: Path) -> None:
    write(
        tmp_path,
        [{"ev": "in", "id": "a", "source": "x.txt", "t": t(1)}, {"ev": "done", "id": "a", "t": t(2)}],
    )
    gap = unfinished(tmp_path, None)
    assert gap is not None and gap.inputs == 1 and gap.sources == ["x.txt"]
