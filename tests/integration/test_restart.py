"""A worker restart loses nothing: kill a worker in the middle of a stream (and after it went idle), restart it,
and every input still ends up indexed exactly once."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from services.common.topics import Stage
from services.ops.embedded import Stack
from tests.harness import make_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

SYLLABLES = ["ka", "lo", "mi", "ren", "tus", "vo", "shi", "par", "de", "nel", "qua", "bri", "so", "gan", "te"]


def article(i: int) -> bytes:
    """A distinct news-like text: random words, so no two inputs are copies, near-copies or rewrites."""
    rng = random.Random(i)

    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))

    sentences = [" ".join(word() for _ in range(12)).capitalize() + "." for _ in range(6)]
    return (f"Report {i} on {word().capitalize()}\n\n" + " ".join(sentences)).encode()


@pytest.mark.parametrize(
    ("stage", "sig", "when"),
    [
        ("dedupe", signal.SIGKILL, "mid-stream"),
        ("enrich", signal.SIGTERM, "mid-stream"),
        ("index", signal.SIGKILL, "idle"),
        ("ingest", signal.SIGTERM, "idle"),
    ],
)
def test_worker_restart_loses_nothing(
    stack: Stack, tmp_path: Path, stage: Stage, sig: int, when: str
) -> None:
    p = make_pipeline(stack, tmp_path).start()
    try:
        n1, n2 = 120, 120
        for i in range(n1):
            p.send_bytes(f"story-{i}.txt", article(i))
        p.flush()
        if when == "idle":
            p.wait()
        else:
            time.sleep(1.0)
        p.kill(stage, sig)
        for i in range(n1, n1 + n2):
            p.send_bytes(f"story-{i}.txt", article(i))
        p.flush()
        time.sleep(0.5)
        p.running.start_worker(stage)
        tracker = p.wait(timeout_s=180)
        assert tracker.dead == []
        docs = p.documents()
        sources = sorted(d["source"] for d in docs)
        assert sources == sorted(f"story-{i}.txt" for i in range(n1 + n2)), "every input indexed exactly once"
        assert all(d["duplicates"] == [] for d in docs), "a redelivery is not a duplicate"
    finally:
        p.stop()
