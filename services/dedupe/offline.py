"""The dedupe decision in one process, synchronously: the offline ``newsflow dedupe`` command, the evaluation and
the benchmarks. Same engine and logic as the workers, with the in-memory store."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, TypeVar

from services.common.records import Article, utcnow
from services.common.settings.dedupe import DedupeSettings
from services.dedupe.engine import Deduper, Outcome
from services.dedupe.store import MemoryStore

T = TypeVar("T")


def run_now(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (the in-memory store answers at once) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("the in-memory dedupe store suspended: it must answer at once")


class OfflineDeduper:
    """Verdicts in arrival order, state in memory."""

    def __init__(self, cfg: DedupeSettings) -> None:
        self.store = MemoryStore(cfg)
        self.engine = Deduper(self.store, cfg)

    def decide_batch(self, articles: Sequence[Article], seen_at: datetime | None = None) -> list[Outcome]:
        return run_now(self.engine.process(articles, seen_at or utcnow()))

    def decide(self, article: Article, seen_at: datetime | None = None) -> Outcome:
        return self.decide_batch([article], seen_at)[0]
