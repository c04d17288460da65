"""The dedupe state in one process: the offline ``newsflow dedupe`` command, unit tests and the benchmark.

Sized for a window of days at 100k articles a day: a stored signature keeps only what verification needs
(``Signature.stored``), and postings are not Python dicts of lists (one dict entry per band and name of every
article cost ~9 KB an article) but ``PostingIndex``: recent postings in a small dict, folded every so often into two
sorted numpy arrays (8-byte key, 4-byte arrival number: 12 bytes a posting).
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

import numpy as np
import numpy.typing as npt

from services.common.settings.dedupe import DedupeSettings
from services.dedupe import kernels
from services.dedupe.features import pack, unpack
from services.dedupe.logic import Decision, Signature
from services.dedupe.store.protocol import Entry


def key64(key: str | int) -> int:
    """A posting key as 64 bits: band keys are already; exact keys and names are hashed (crc32 both ways)."""
    if isinstance(key, int):
        return key
    b = key.encode()
    return (zlib.crc32(b) << 32) | zlib.crc32(b[::-1])


def _trim(postings: list[int], tail: int | None) -> list[int]:
    """The first and the last ``tail`` of ``postings`` (all of them without ``tail``)."""
    if tail is None or len(postings) <= tail + 1:
        return postings
    return [postings[0], *postings[-tail:]]


class PostingIndex:
    """key -> arrival numbers in arrival order, as an LSM: appends go to a dict; every ``fold_at`` of them become a
    sorted run (8-byte keys, 4-byte arrival numbers); adjacent runs of similar size are merged, so a posting is
    re-sorted O(log n) times and a lookup is one binary search per run (a handful) plus a dict get."""

    def __init__(self, fold_at: int = 8192) -> None:
        self.fold_at = fold_at
        self.recent: dict[int, list[int]] = {}
        self.n_recent = 0
        self.runs: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]] = []  # oldest first

    def __len__(self) -> int:
        return sum(int(k.size) for k, _ in self.runs) + self.n_recent

    def nbytes(self) -> int:
        return sum(int(k.nbytes + v.nbytes) for k, v in self.runs)

    def add(self, key: int, serial: int) -> None:
        have = self.recent.get(key)
        if have is None:
            self.recent[key] = [serial]
        else:
            have.append(serial)
        self.n_recent += 1
        if self.n_recent >= self.fold_at:
            self.fold()

    def add_all(self, keys: Sequence[int], serial: int) -> None:
        """``add`` of each key, for one arrival."""
        recent = self.recent
        for key in keys:
            have = recent.get(key)
            if have is None:
                recent[key] = [serial]
            else:
                have.append(serial)
        self.n_recent += len(keys)
        if self.n_recent >= self.fold_at:
            self.fold()

    def fold(self) -> None:
        if not self.recent:
            return
        ks = np.fromiter((k for k, v in self.recent.items() for _ in v), dtype=np.uint64, count=self.n_recent)
        vs = np.fromiter((x for v in self.recent.values() for x in v), dtype=np.int32, count=self.n_recent)
        # a key's arrival numbers are in order in the dict, and every run's are below the next one's: a stable sort
        # by key alone (timsort merges the two sorted halves below in linear time) keeps them in order
        order = np.argsort(ks, kind="stable")
        self.runs.append((ks[order], vs[order]))
        self.recent.clear()
        self.n_recent = 0
        while len(self.runs) >= 2 and self.runs[-2][0].size <= 2 * self.runs[-1][0].size:
            (k1, v1), (k2, v2) = self.runs[-2], self.runs[-1]
            keys, vals = np.concatenate([k1, k2]), np.concatenate([v1, v2])
            order = np.argsort(keys, kind="stable")
            self.runs[-2:] = [(keys[order], vals[order])]

    def get_many(self, keys: Sequence[int], tail: int | None = None) -> list[Sequence[int]]:
        """The arrival numbers of each key, oldest first (runs are in time order, each sorted by number). Keys
        without postings share one empty tuple (most band keys of a batch: no list made for them). With ``tail``:
        only the first and the last ``tail`` of each (what a scan of the recent ones reads), so a common name's
        long posting costs no more than a rare one's. The lists are read-only and valid until the next ``add``
        (a short recent posting is the index's own list: most keys of a batch hit only the batch itself)."""
        out: list[Sequence[int]] = [()] * len(keys)
        if not keys:
            return out
        # The distinct keys in sorted order: a batch repeats keys (its copies share bands, its articles names), and
        # a binary search for sorted keys starts from the previous key's bound, so the probes into a run of
        # millions stay near each other in memory instead of missing the cache at every step (random probes into
        # runs that grow with the seen set made the lookup grow with it). One search per run finds the keys
        # present; only those are searched for their end.
        uq, inverse = kernels.unique_inverse(np.asarray(keys, dtype=np.uint64))
        where: dict[int, list[int]] = {}
        for i, u in enumerate(inverse.tolist()):
            where.setdefault(u, []).append(i)
        for rk, rv in self.runs:
            hu, lo, hi = kernels.run_hits(rk, uq)
            if not hu.size:
                continue
            for u, start, end in zip(hu.tolist(), lo.tolist(), hi.tolist(), strict=True):
                for i in where[u]:
                    got = out[i]
                    if tail is not None and end - start > tail + 1:
                        part = (
                            [int(rv[start]), *rv[end - tail : end].tolist()]
                            if not got
                            else rv[end - tail : end].tolist()
                        )
                    else:
                        part = rv[start:end].tolist()
                    out[i] = _trim([*got, *part], tail) if got else part
        for i, more in enumerate(map(self.recent.get, keys)):
            if not more:
                continue
            got = out[i]
            if tail is not None and len(more) > tail + 1:
                more = [more[0], *more[-tail:]] if not got else more[-tail:]
            if not got:
                out[i] = more  # the dict's own list when short: read it before the next add, never change it
            else:
                both = [*got, *more]
                out[i] = both if tail is None or len(both) <= tail + 1 else [both[0], *both[-tail:]]
        return out

    def prune(self, gone: set[int]) -> None:
        drop = np.fromiter(gone, dtype=np.int32, count=len(gone))
        runs = []
        for k, v in self.runs:
            keep = ~np.isin(v, drop)
            if keep.any():
                runs.append((k[keep], v[keep]))
        self.runs = runs
        for key in list(self.recent):
            kept = [x for x in self.recent[key] if x not in gone]
            self.n_recent -= len(self.recent[key]) - len(kept)
            if kept:
                self.recent[key] = kept
            else:
                del self.recent[key]


@dataclass(frozen=True, slots=True)
class Stored:
    """A registered arrival as the memory store keeps it: identity, times and the packed fingerprint."""

    ingest_key: str
    article_id: str
    source: str
    at: datetime
    ingested_at: datetime
    url_hash: str | None
    comparable: bool
    blob: bytes

    @classmethod
    def of(cls, s: Signature) -> Stored:
        return cls(
            s.ingest_key, s.article_id, s.source, s.at, s.ingested_at, s.url_hash, s.comparable, pack(s.fp)
        )

    def signature(self) -> Signature:
        return Signature(
            ingest_key=self.ingest_key,
            article_id=self.article_id,
            source=self.source,
            at=self.at,
            ingested_at=self.ingested_at,
            fp=unpack(self.blob),
            url_hash=self.url_hash,
            comparable=self.comparable,
        )


def _recent(postings: Sequence[int], scan: int) -> Iterable[int]:
    # The first entry too: for an exact key it is the arrival every later copy points to.
    return postings[-scan:] if len(postings) <= scan else [postings[0], *postings[-scan:]]


class MemoryStore:
    """The store in one process, no concurrency."""

    def __init__(self, cfg: DedupeSettings, decoded_max: int = 1024) -> None:
        self.cfg = cfg
        self.sigs: dict[str, Stored] = {}
        self.decs: dict[str, Decision] = {}
        self.serial: dict[str, int] = {}  # ingest key -> arrival number
        self.keys_by_serial: list[str | None] = []
        self.by_key = PostingIndex()  # exact keys and LSH bands: "maybe a copy"
        self.by_term = PostingIndex()  # names: "maybe the same story or event"
        self.merges: dict[str, str] = {}  # event id -> the event it was merged into
        # Decoded signatures of the latest arrivals (bounded): the candidates of the next batches are mostly
        # recent, and unpacking one costs ~50 us (numbers of this process's benches).
        self.decoded: dict[str, Signature] = {}
        self.decoded_max = decoded_max

    async def decisions(self, keys: Sequence[str]) -> dict[str, Decision]:
        return {k: self.decs[k] for k in keys if k in self.decs}

    async def register(self, entries: Sequence[Entry]) -> None:
        for e in entries:
            self.register_sync(e.sig)

    def register_sync(self, sig: Signature) -> None:
        ik = sig.ingest_key
        if ik in self.sigs:
            return
        n = len(self.keys_by_serial)
        self.keys_by_serial.append(ik)
        self.serial[ik] = n
        self.sigs[ik] = Stored.of(sig)
        self._remember(sig.stored())
        self.by_key.add_all([key64(k) for k in sig.exact_keys] + sig.band_keys, n)
        self.by_term.add_all([key64(t) for t in sig.terms], n)

    async def candidates(self, sigs: Sequence[Signature]) -> dict[str, list[str]]:
        return self.candidates_batch(sigs)

    def candidates_sync(self, sig: Signature) -> list[str]:
        return self.candidates_batch([sig])[sig.ingest_key]

    def candidates_batch(self, sigs: Sequence[Signature]) -> dict[str, list[str]]:
        """``candidates`` of a batch: the postings of all its keys read in one lookup per index (one binary search
        per sorted run for the whole batch instead of per article)."""
        exact = [[key64(k) for k in s.exact_keys] for s in sigs]
        bands = [s.band_keys for s in sigs]
        terms = [[key64(t) for t in s.terms] for s in sigs]
        scan = max(
            self.cfg.postings_scan, 4
        )  # _pick reads the first and last 4 of an exact key, last scan of others
        by_key = iter(
            self.by_key.get_many([k for e, b in zip(exact, bands, strict=True) for k in (*e, *b)], tail=scan)
        )
        by_term = iter(self.by_term.get_many([k for t in terms for k in t], tail=scan))
        out: dict[str, list[str]] = {}
        for s, e, b, t in zip(sigs, exact, bands, terms, strict=True):
            posts = list(islice(by_key, len(e) + len(b)))
            out[s.ingest_key] = self._pick(s, posts[: len(e)], posts[len(e) :], list(islice(by_term, len(t))))
        return out

    def _pick(
        self,
        sig: Signature,
        exact_posts: Sequence[Sequence[int]],
        band_posts: Sequence[Sequence[int]],
        term_posts: Sequence[Sequence[int]],
    ) -> list[str]:
        cfg = self.cfg
        me = self.serial.get(sig.ingest_key, -1)
        scan = cfg.postings_scan
        exact = [x for p in exact_posts if p for x in _recent(p, 4) if x != me]
        bands = Counter(x for p in band_posts if p for x in _recent(p, scan))
        bands.pop(me, None)
        terms = Counter(x for p in term_posts if p for x in _recent(p, scan))
        terms.pop(me, None)
        window = timedelta(days=cfg.event_window_days)
        names = self.keys_by_serial
        shared = sorted(((n, k) for k, n in terms.items() if n >= cfg.min_shared_terms), reverse=True)
        by_terms: list[str] = []
        for _, k in shared:
            ik = names[k]
            if ik is not None and abs(self.sigs[ik].at - sig.at) <= window:
                by_terms.append(ik)
                if len(by_terms) >= cfg.max_candidates:
                    break
        out = dict.fromkeys(names[x] for x in exact)
        out.update(dict.fromkeys(names[k] for k, _ in bands.most_common(cfg.max_candidates)))
        out.update(dict.fromkeys(by_terms))
        return [k for k in out if k is not None and k in self.sigs]

    async def fetch(self, keys: Sequence[str]) -> dict[str, tuple[Signature, Decision | None]]:
        out: dict[str, tuple[Signature, Decision | None]] = {}
        for k in keys:
            stored = self.sigs.get(k)
            if stored is None:
                continue
            sig = self.decoded.get(k)
            if sig is None:
                sig = stored.signature()
                self._remember(sig)
            out[k] = (sig, self.decs.get(k))
        return out

    def _remember(self, sig: Signature) -> None:
        if len(self.decoded) >= self.decoded_max:
            for k in list(self.decoded)[
                : self.decoded_max // 4
            ]:  # the oldest quarter (dicts keep insertion order)
                del self.decoded[k]
        self.decoded[sig.ingest_key] = sig

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
        serials = {self.serial.pop(k) for k in gone if k in self.serial}
        for k in gone:
            self.sigs.pop(k, None)
            self.decs.pop(k, None)
            self.decoded.pop(k, None)
        for n in serials:
            self.keys_by_serial[n] = None
        self.by_key.prune(serials)
        self.by_term.prune(serials)
        return len(gone)
