"""Dedupe cost per article as the seen set grows (a benchmark, not a test).

    .venv/bin/python bench/dedupe_bench.py [--sizes 1000,10000,100000] [--window 1000] [--json]

Synthetic news-like articles (Zipf-distributed vocabulary, a large pool of capitalized names, 6-12 paragraphs,
~350 words), 10% of them syndicated copies of a recent article, are pushed through the same engine the offline
command uses (``Deduper`` + ``MemoryStore``) in batches of 200. At each size the cost per article is measured over
the next ``--window`` articles: fingerprinting, retrieval (LSH bands, rare-name postings) and verification. CPU
time is printed beside wall time: on a shared machine it is the number to trust.
Flat means the retrieval caps hold: the work per article does not grow with what was seen.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from services.common.records import Article, Trace
from services.common.settings.dedupe import DedupeSettings
from services.dedupe.offline import OfflineDeduper
from services.dedupe.store import MemoryStore

BATCH = 200
SYLL = [
    "ka",
    "lo",
    "mi",
    "ne",
    "su",
    "ra",
    "to",
    "vi",
    "de",
    "an",
    "or",
    "el",
    "us",
    "im",
    "pa",
    "re",
    "st",
    "ch",
]


class Corpus:
    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        r = random.Random(seed + 1)
        self.vocab = ["".join(r.choices(SYLL, k=r.randint(1, 4))) for _ in range(40000)]
        self.cum = list(itertools.accumulate(1.0 / (i + 1) ** 1.05 for i in range(len(self.vocab))))
        self.names = ["".join(r.choices(SYLL, k=r.randint(2, 4))).capitalize() for _ in range(30000)]
        self.recent: list[str] = []

    def sentence(self, cast: list[str]) -> str:
        n = self.rng.randint(8, 24)
        words = self.rng.choices(self.vocab, cum_weights=self.cum, k=n)
        for _ in range(self.rng.randint(0, 3)):
            words.insert(self.rng.randint(1, len(words)), self.rng.choice(cast))
        return words[0].capitalize() + " " + " ".join(words[1:]) + "."

    def article(self) -> str:
        if self.recent and self.rng.random() < 0.1:
            return self.copy(self.rng.choice(self.recent[-500:]))
        cast = self.rng.sample(self.names, 6)
        paras = [
            " ".join(self.sentence(cast) for _ in range(self.rng.randint(2, 3)))
            for _ in range(self.rng.randint(6, 12))
        ]
        body = "\n\n".join(paras)
        self.recent.append(body)
        del self.recent[
            :-500
        ]  # copies are of recent articles: keep no more (the bench's memory is not dedupe's)
        return body

    def copy(self, body: str) -> str:
        paras = body.split("\n\n")
        del paras[self.rng.randrange(1, len(paras))]
        words = "\n\n".join(paras).split(" ")
        for i in range(len(words)):
            if self.rng.random() < 0.05:
                words[i] = self.rng.choice(self.vocab[:200])
        return "Wire staff report. Updated today.\n\n" + " ".join(words) + "\n\nAll rights reserved."


def _deep(obj: object, seen: set[int]) -> int:
    """Bytes held by a signature or decision and what it references (numpy buffers included, shared objects
    such as interned strings counted once)."""
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return sys.getsizeof(obj)  # header + owned buffer
    size = sys.getsizeof(obj)
    if isinstance(obj, (tuple, list)):
        return size + sum(_deep(x, seen) for x in obj)
    if hasattr(obj, "__dataclass_fields__"):
        return size + sum(_deep(getattr(obj, f), seen) for f in obj.__dataclass_fields__)
    return size


def state_bytes(store: MemoryStore) -> int:
    """Bytes of the memory store's state: signatures, decisions, postings, the maps around them."""
    seen: set[int] = set()
    total = sum(_deep(s, seen) + _deep(k, seen) for k, s in store.sigs.items())
    total += sum(_deep(d, seen) for d in store.decs.values())
    total += sys.getsizeof(store.sigs) + sys.getsizeof(store.decs) + sys.getsizeof(store.serial)
    total += sys.getsizeof(store.keys_by_serial)
    for idx in (store.by_key, store.by_term):
        total += idx.nbytes() + sys.getsizeof(idx.recent)
        total += sum(sys.getsizeof(v) + 32 for v in idx.recent.values())
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--window", type=int, default=1000, help="articles measured at each size")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    cfg = DedupeSettings()
    deduper = OfflineDeduper(cfg)
    corpus = Corpus()
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    n = 0
    results = []

    def batch(k: int) -> list[Article]:
        nonlocal n
        out = []
        for _ in range(k):
            body = corpus.article()
            at = t0 + timedelta(seconds=20 * n)  # ~4,300 articles a day: events stay inside their window
            out.append(
                Article(
                    id=f"a{n:08d}",
                    trace=Trace(ingest_id=f"b{n:08d}", source=f"s{n}"),
                    source=f"s{n}",
                    body=body,
                    ingested_at=at,
                )
            )
            n += 1
        return out

    def run() -> None:
        for size in sizes:
            t_fill = time.perf_counter()
            while n < size:
                deduper.decide_batch(batch(min(BATCH, size - n)), t0)
            fill_s = time.perf_counter() - t_fill
            gc.collect()
            spent = 0.0
            cpu = 0.0
            dups = 0
            measured = 0
            while measured < args.window:
                arts = batch(min(BATCH, args.window - measured))
                t, c = time.perf_counter(), time.process_time()
                outs = deduper.decide_batch(arts, t0)
                spent += time.perf_counter() - t
                cpu += time.process_time() - c
                dups += sum(1 for o in outs if o.decision and o.decision.verdict == "duplicate")
                measured += len(arts)
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            per_article = state_bytes(deduper.store) / max(len(deduper.store.sigs), 1)
            row = {
                "seen": size,
                "ms_per_article": round(1000 * spent / measured, 3),
                "cpu_ms_per_article": round(1000 * cpu / measured, 3),
                "duplicates": dups,
                "measured": measured,
                "fill_seconds": round(fill_s, 1),
                "max_rss_mb": round(rss_mb),
                "state_bytes_per_article": round(per_article),
            }
            results.append(row)
            if not args.json:
                print(
                    f"seen {size:>7}: {row['ms_per_article']:.3f} ms/article wall, {row['cpu_ms_per_article']:.3f} "
                    f"ms CPU, over {measured} "
                    f"({dups} duplicates found), max RSS {row['max_rss_mb']} MB, state "
                    f"{row['state_bytes_per_article']} bytes per seen article",
                    flush=True,
                )

    run()
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
