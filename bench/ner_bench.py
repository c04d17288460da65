#!/usr/bin/env python3
"""Throughput of the enrich step (model + our corrections and canonical ids) vs bare ``nlp.pipe``.

Same texts for both: the hand-checked ``articleBody`` of the extraction benchmark (181 real news pages).
Words are whitespace-separated tokens. Each side runs ``--repeat`` times after a warm-up; the best run
counts (least disturbed by other processes). The budget: the step may cost at most 15 % over bare NER.

    python bench/ner_bench.py                    # ../shared/data/extraction-benchmark, 1 process
    python bench/ner_bench.py --n-process 2      # both cores
    python bench/ner_bench.py --no-linking       # the enrich step without the knowledge base (its cost)
    python bench/ner_bench.py --json out.json

Exit status 1 when the overhead is above ``--max-overhead`` (0.15).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.common.settings.enrich import EnrichSettings
from services.enrich import logic
from services.enrich.model import SpacyNer
from services.enrich.resources import Resources

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "extraction-benchmark"


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    run()  # warm-up (and, with n_process > 1, worker start-up is paid here as much as below)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--n-process", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-overhead", type=float, default=0.15)
    ap.add_argument("--no-linking", action="store_true", help="local ids only (no knowledge base)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    truth = args.data / "ground-truth.json"
    if not truth.exists():
        print(f"no benchmark data at {truth} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    texts = [v["articleBody"] for v in json.loads(truth.read_text()).values() if v.get("articleBody")]
    words = sum(len(t.split()) for t in texts)
    cfg = EnrichSettings(batch_size=args.batch_size, linking=not args.no_linking)
    ner = SpacyNer(cfg.model, batch_size=cfg.batch_size, n_process=args.n_process)
    res = Resources.load(cfg)

    def bare() -> object:
        return [doc.ents for doc in ner.nlp.pipe(texts, batch_size=cfg.batch_size, n_process=args.n_process)]

    def ours() -> object:
        return logic.mentions_of_texts(texts, ner, cfg, res)

    # Interleave so that drift of the machine hits both sides alike.
    t_bare = t_ours = float("inf")
    for _ in range(2):
        t_bare = min(t_bare, best_seconds(bare, args.repeat))
        t_ours = min(t_ours, best_seconds(ours, args.repeat))
    overhead = t_ours / t_bare - 1
    result = {
        "texts": len(texts),
        "words": words,
        "n_process": args.n_process,
        "batch_size": args.batch_size,
        "linking": cfg.linking,
        "bare_words_per_s": round(words / t_bare),
        "enrich_words_per_s": round(words / t_ours),
        "overhead": round(overhead, 4),
    }
    print(
        f"{len(texts)} texts, {words} words, n_process={args.n_process}: bare nlp.pipe "
        f"{words / t_bare:,.0f} words/s, enrich step {words / t_ours:,.0f} words/s, overhead {overhead:+.1%}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if overhead <= args.max_overhead else 1


if __name__ == "__main__":
    sys.exit(main())
