"""The dedupe state in dicts: the offline ``newsflow dedupe`` command, unit tests and the benchmark."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from services.common.settings.dedupe import DedupeSettings
from services.dedupe.logic import Decision, Signature
from services.dedupe.store.protocol import Entry

Postings = dict[Any, str | list[str]]


def _post(index: Postings, key: str | int, ik: str) -> None:
    have = index.get(key)
    if have is None:
        index[key] = ik
    elif isinstance(have, str):
        index[key] = [have, ik]
    else:
        have.append(ik)


def _prune(index: Postings, gone: set[str]) -> None:
    for key in list(index):
        v = index[key]
        kept = [x for x in ([v] if isinstance(v, str) else v) if x not in gone]
        if not kept:
            del index[key]
        else:
            index[key] = kept[0] if len(kept) == 1 else kept


def _recent(postings: str | list[str] | None, scan: int) -> Iterable[str]:
    if not postings:
        return ()
    if isinstance(postings, str):
        return (postings,)
    # The first entry too: for an exact key it is the arrival every later copy points to.
    return postings[-scan:] if len(postings) <= scan else [postings[0], *postings[-scan:]]


class MemoryStore:
    """The store in dicts: one process, no concurrency. Postings are lists in arrival order, read from the end."""

    def __init__(self, cfg: DedupeSettings) -> None:
        self.cfg = cfg
        self.sigs: dict[str, Signature] = {}
        self.decs: dict[str, Decision] = {}
        # postings: a lone ingest key until a second arrives (most band keys never see one: saves memory)
        self.by_key: Postings = {}
        self.by_term: Postings = {}
        self.merges: dict[str, str] = {}  # event id -> the event it was merged into

    async def decisions(self, keys: Sequence[str]) -> dict[str, Decision]:
        return {k: self.decs[k] for k in keys if k in self.decs}

    async def register(self, entries: Sequence[Entry]) -> None:
        for e in entries:
            self.register_sync(e.sig)

    def register_sync(self, sig: Signature) -> None:
        if sig.ingest_key in self.sigs:
            return
        ik = sig.ingest_key
        self.sigs[ik] = sig
        for k in sig.exact_keys:
            _post(self.by_key, k, ik)
        for b in sig.band_keys:
            _post(self.by_key, b, ik)
        for t in sig.terms:
            _post(self.by_term, t, ik)

    async def candidates(self, sigs: Sequence[Signature]) -> dict[str, list[str]]:
        return {s.ingest_key: self.candidates_sync(s) for s in sigs}

    def candidates_sync(self, sig: Signature) -> list[str]:
        cfg = self.cfg
        me = sig.ingest_key
        exact: list[str] = []
        for k in sig.exact_keys:
            exact.extend(x for x in _recent(self.by_key.get(k), 4) if x != me)
        bands: Counter[str] = Counter()
        for b in sig.band_keys:
            bands.update(_recent(self.by_key.get(b), cfg.postings_scan))
        bands.pop(me, None)
        terms: Counter[str] = Counter()
        for t in sig.terms:
            terms.update(_recent(self.by_term.get(t), cfg.postings_scan))
        terms.pop(me, None)
        window = timedelta(days=cfg.event_window_days)
        shared = sorted(((n, k) for k, n in terms.items() if n >= cfg.min_shared_terms), reverse=True)
        by_terms = [k for _, k in shared if k in self.sigs and abs(self.sigs[k].at - sig.at) <= window][
            : cfg.max_candidates
        ]
        out = dict.fromkeys(exact)
        out.update(dict.fromkeys(k for k, _ in bands.most_common(cfg.max_candidates)))
        out.update(dict.fromkeys(by_terms))
        return [k for k in out if k in self.sigs]

    async def fetch(self, keys: Sequence[str]) -> dict[str, tuple[Signature, Decision | None]]:
        return {k: (self.sigs[k], self.decs.get(k)) for k in keys if k in self.sigs}

    async def decide(self, decisions: Sequence[Decision]) -> dict[str, Decision]:
        held = {d.ingest_key: self.decs.setdefault(d.ingest_key, d) for d in decisions}
        for d in held.values():
            for e in d.merges:
                if e != d.event_id:
                    self.merges.setdefault(e, d.event_id)
        return held

    async def merged_into(self, event_ids: Sequence[str]) -> dict[str, str]:
        return {e: self.merges[e] for e in event_ids if e in self.merges}

    async def expire(self, before: datetime) -> int:
        gone = {k for k, s in self.sigs.items() if s.at < before}
        gone |= {k for k, d in self.decs.items() if d.at < before}
        if not gone:
            return 0
        for k in gone:
            self.sigs.pop(k, None)
            self.decs.pop(k, None)
        _prune(self.by_key, gone)
        _prune(self.by_term, gone)
        return len(gone)
