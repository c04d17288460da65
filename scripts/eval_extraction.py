#!/usr/bin/env python3
"""Body-extraction quality on the scrapinghub article-extraction benchmark, measured its own way.

The measure (github.com/scrapinghub/article-extraction-benchmark, ``evaluate.py``): each text is tokenized
with ``\\w+``; tokens form 4-gram shingles; per page, shingle counts give TP/FP/FN, normalized by their sum
so long pages weigh no more than short ones; precision and recall are averaged over the pages and F1 is
computed from the two averages. The mean of the per-page F1 is printed too.

    python scripts/eval_extraction.py                     # ../shared/data/extraction-benchmark
    python scripts/eval_extraction.py --data DIR --worst 10 --json out.json

Exit status 1 when F1 is below ``--min-f1`` (0.93), so CI can hold the line.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.common.records import Rejected
from services.common.settings.ingest import IngestSettings
from services.ingest.encoding import decode_bytes, gunzip
from services.ingest.formats import extract_page

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "extraction-benchmark"
_TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)
TpFpFn = tuple[float, float, float]


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def tp_fp_fn(true: str, pred: str) -> TpFpFn:
    t, p = shingles(true), shingles(pred)
    tp = fp = fn = 0.0
    for key in t.keys() | p.keys():
        tc, pc = t.get(key, 0), p.get(key, 0)
        tp += min(tc, pc)
        fp += max(0, pc - tc)
        fn += max(0, tc - pc)
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s > 0 else (tp, fp, fn)


def precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def page_f1(x: TpFpFn) -> float:
    p, r = precision(*x), recall(*x)
    return 2 * p * r / (p + r) if p + r else 0.0


def metrics(results: list[TpFpFn]) -> dict[str, float]:
    """The benchmark's figures: mean precision, mean recall, F1 of the two means; plus mean page F1."""
    p = statistics.mean(precision(*x) for x in results if x[0] + x[1] > 0)
    r = statistics.mean(recall(*x) for x in results if x[0] + x[2] > 0)
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "mean_page_f1": statistics.mean(page_f1(x) for x in results),
    }


def extract_file(path: Path, url: str | None, cfg: IngestSettings, now: datetime) -> str:
    """The body our ingest path extracts from one benchmark page ('' when it finds no article)."""
    text = decode_bytes(gunzip(path.read_bytes(), cfg.max_html_bytes), html=True)
    if isinstance(text, Rejected):
        return ""
    got = extract_page(text, url, now, cfg)
    return "" if isinstance(got, Rejected) else got.text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="benchmark folder (html/, ground-truth.json)"
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N pages (0 = all)")
    ap.add_argument("--worst", type=int, default=0, help="list the N pages with the lowest F1")
    ap.add_argument("--json", type=Path, help="write the figures as JSON here")
    ap.add_argument("--min-f1", type=float, default=0.93, help="exit 1 below this F1")
    args = ap.parse_args(argv)
    truth_file = args.data / "ground-truth.json"
    if not truth_file.exists():
        print(f"benchmark not found at {args.data} (expected ground-truth.json and html/)", file=sys.stderr)
        return 2
    truth: dict[str, dict[str, str]] = json.loads(truth_file.read_text(encoding="utf-8"))
    keys = sorted(truth)[: args.limit or None]
    cfg = IngestSettings()
    now = datetime.now(UTC)
    results: dict[str, TpFpFn] = {}
    misses = 0
    t0 = time.perf_counter()
    for key in keys:
        pred = extract_file(args.data / "html" / f"{key}.html.gz", truth[key].get("url"), cfg, now)
        misses += not pred
        results[key] = tp_fp_fn(truth[key].get("articleBody", ""), pred)
    seconds = time.perf_counter() - t0
    m = metrics(list(results.values()))
    m.update(pages=len(keys), no_article=misses, ms_per_page=1000 * seconds / max(1, len(keys)))
    print(
        f"pages={m['pages']} precision={m['precision']:.4f} recall={m['recall']:.4f} F1={m['f1']:.4f} "
        f"mean_page_F1={m['mean_page_f1']:.4f} no_article={misses} ms_per_page={m['ms_per_page']:.1f}"
    )
    if args.worst:
        for key, x in sorted(results.items(), key=lambda kv: page_f1(kv[1]))[: args.worst]:
            print(
                f"  {key[:16]} F1={page_f1(x):.3f} P={precision(*x):.3f} R={recall(*x):.3f} "
                f"{truth[key].get('url', '')[:80]}"
            )
    if args.json:
        args.json.write_text(json.dumps(m, indent=2, sort_keys=True))
    return 0 if m["f1"] >= args.min_f1 else 1


if __name__ == "__main__":
    sys.exit(main())
