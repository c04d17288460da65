"""Runs the pure dedupe logic over a batch of arrivals against a store: the same code for one offline process
(``MemoryStore``) and for N workers sharing the search server (``ElasticStore``).

How N workers on a P-partition topic stay correct
-------------------------------------------------
A copy may land on another partition than its original, so workers share one state: a *signature* per arrival
(fingerprint keys, rare terms, body) and a *decision* per arrival, both keyed by the ingest key. The rules:

1. Register, then look. A worker writes the batch's signatures (visible to every later search once written:
   ``refresh=true``, or ``wait_for`` the periodic refresh) before it searches for candidates. Of two concurrent
   copies, the one that searches second therefore always sees the other.
2. Only final uniques are originals. An arrival is judged a duplicate only of a candidate whose decision is already
   written; if that candidate was itself a duplicate, of its original (no chains). Decisions are created once
   (``op_type=create``) and never change. So two arrivals can never be duplicates of each other (one decision
   exists before the other is made, and the first cannot point at an arrival it never saw decided) — no article
   is ever lost, whatever the timing.
3. Wait, a bounded time, for candidates that are pending (registered, not yet decided, in another worker): long
   (``pending_wait_s``) for those earlier in the total order (ingested_at, ingest key), short
   (``pending_wait_later_s``) for later ones. Two copies that see each other thus never wait for each other to the
   end: the earlier one gives up first, decides unique, and the later one finds it decided. Before waiting, the
   worker writes the decisions it has made so far, so others never wait on it for nothing. A candidate still
   pending at the deadline is ignored: a missed duplicate in a true race, never a lost article.
4. Redelivery is idempotent: an arrival whose decision exists gets that decision again; if two deliveries of one
   arrival race, the decision created first holds and both send it.
5. Within a batch, articles are decided in arrival order ((ingested_at, ingest key), whatever partition
   they came from); an in-batch candidate counts only once its decision is written.
6. Events: a decision carries its event's id and start, fixed when it is written. Two workers may found two events
   for one story at the same moment; the next article that matches both records the later-founded one as merged
   into the earlier (a create-once document, like decisions): event ids in the index never change, search
   resolves merges.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.common.records import Article, DuplicateArticle, Rejected, UniqueArticle
from services.common.settings.dedupe import DedupeSettings
from services.dedupe import logic
from services.dedupe.logic import Decision, Known, Signature
from services.dedupe.stock import SentenceCounts
from services.dedupe.store import DedupeStore, Entry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What to send for one input article."""

    article: Article
    result: UniqueArticle | DuplicateArticle | Rejected
    decision: Decision | None = None
    replayed: bool = False  # decided by an earlier delivery of the same arrival


class Deduper:
    def __init__(
        self,
        store: DedupeStore,
        cfg: DedupeSettings,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cfg = cfg
        self._sleep = sleep
        self._monotonic = monotonic
        self.sentences = SentenceCounts(cfg.stock_min_articles)

    async def process(self, articles: Sequence[Article], seen_at: datetime) -> list[Outcome]:
        """Verdicts for a batch, in input order. Store errors propagate: nothing of the batch may be sent then."""
        cfg = self.cfg
        sigs: dict[str, Signature] = {}
        rejected: dict[int, Rejected] = {}
        order: list[str] = []
        for i, art in enumerate(articles):
            s = logic.signature(art, cfg)
            if isinstance(s, Rejected):
                rejected[i] = s
                continue
            if s.ingest_key not in sigs:
                sigs[s.ingest_key] = s
                order.append(s.ingest_key)
        # Decide in arrival order (ingested_at = when ingest accepted the input), not in the order the
        # partitions happened to be fetched: a copy submitted after its original is judged after it.
        order.sort(key=lambda k: sigs[k].order)
        final: dict[str, Decision] = await self.store.decisions(order)
        replayed = set(final)
        fresh = [k for k in order if k not in final]
        by_key = {logic.ingest_key(a): a for a in articles}
        await self.store.register([Entry(sigs[k], by_key[k]) for k in fresh])
        cands = await self.store.candidates([sigs[k] for k in fresh])
        batch = set(order)
        outside = sorted({c for k in fresh for c in cands.get(k, ()) if c not in batch})
        info = await self.store.fetch(outside)
        unwritten: list[Decision] = []

        async def flush() -> None:
            if unwritten:
                held = await self.store.decide(unwritten)
                for d in unwritten:
                    final[d.ingest_key] = held.get(d.ingest_key, d)
                unwritten.clear()

        position = {k: i for i, k in enumerate(order)}
        for k in fresh:
            sig = sigs[k]
            known: list[Known] = []
            pending: dict[str, float] = {}
            for c in cands.get(k, ()):
                if c in batch:
                    if position[c] < position[k]:
                        if c not in final:
                            await flush()
                        if c in final:
                            known.append(Known(sigs[c], final[c]))
                    continue
                got = info.get(c)
                if got is None:
                    continue
                csig, cdec = got
                if cdec is not None:
                    known.append(Known(csig, cdec))
                else:
                    pending[c] = cfg.pending_wait_s if csig.order < sig.order else cfg.pending_wait_later_s
            if pending:
                await flush()
                for c, d in (await self._wait(pending)).items():
                    known.append(Known(info[c][0], d))
            decision = logic.judge(sig, known, cfg, self.sentences.stock).decision
            if decision.verdict == "unique":
                self.sentences.add(sig.fp)
            unwritten.append(decision)
        await flush()
        out: list[Outcome] = []
        for i, art in enumerate(articles):
            if i in rejected:
                out.append(Outcome(art, rejected[i]))
                continue
            d = final[logic.ingest_key(art)]
            record = logic.to_record(art, d, seen_at, sigs[d.ingest_key].fp.content_hash)
            out.append(Outcome(art, record, d, d.ingest_key in replayed))
        return out

    async def _wait(self, pending: dict[str, float]) -> dict[str, Decision]:
        """Decisions of pending candidates as they appear, each waited for at most its own time."""
        start = self._monotonic()
        got: dict[str, Decision] = {}
        left = dict(pending)
        while left:
            found = await self.store.decisions(sorted(left))
            got.update(found)
            elapsed = self._monotonic() - start
            left = {c: t for c, t in left.items() if c not in found and elapsed < t}
            if left:
                await self._sleep(self.cfg.poll_interval_s)
        if len(got) < len(pending):
            log.info(
                "dedupe candidates still pending after waiting, ignored count=%d", len(pending) - len(got)
            )
        return got
