"""The dedupe decision in one process, synchronously: the offline ``newsflow dedupe`` command, the evaluation and
the benchmarks. Same engine and logic as the workers, with the in-memory store."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, TypeVar

from services.common.records import Article, Trace, utcnow
from services.common.settings.dedupe import DedupeSettings
from services.dedupe import similarity
from services.dedupe.engine import Deduper, Outcome
from services.dedupe.features import fingerprint, pack, unpack
from services.dedupe.store import MemoryStore
from services.dedupe.store.memory import PostingIndex

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


_WARM_TEXTS = (
    "Alpha Beta met Gamma Delta in Epsilon on Monday. Zeta said the talks on 3 deals would go on. "
    "Eta and Theta signed the first accord. Iota called it a good day for Kappa and Lambda.",
    "Alpha Beta said on Tuesday the sale to Gamma Delta was completed for 12 million. Epsilon welcomed it. "
    "Zeta had agreed to buy the brand from Eta. Theta, Iota and Kappa were at the signing.",
    "Москва и Минск подписали соглашение в понедельник. Президент Альфа сказал, что переговоры продолжатся.",
)


def warm() -> None:
    """Load (or compile) every compiled loop a decision uses, and the character table of non-ASCII text, now rather
    than on the first batch: the comparison's warm-up, then the offline engine over a few made-up articles (two
    reports of one event, a non-ASCII text, a near copy of the first), one at a time, a stored fingerprint read
    back and a posting lookup in folded runs. Nothing of it is kept."""
    similarity.warm()
    d = OfflineDeduper(DedupeSettings())
    texts = [*_WARM_TEXTS, _WARM_TEXTS[0].replace("Monday", "Sunday")]  # the last a near copy of the first
    for i, body in enumerate(texts):
        d.decide(
            Article(id=f"warm{i}", trace=Trace(ingest_id=f"warm{i}", source="warm"), source="warm", body=body)
        )
    unpack(pack(fingerprint(_WARM_TEXTS[0])))  # a stored fingerprint read back (the store's cache spared it)
    index = PostingIndex(fold_at=2)
    index.add_all([1, 2, 3], 0)
    index.get_many([1, 4], tail=1)
