"""Dedupe CPU per article of two checkouts on the ``make bench`` corpus, measured side by side (a benchmark, not a
test).

    .venv/bin/python bench/dedupe_ab.py OTHER_CHECKOUT [THIS_CHECKOUT] [--passes 3] [--chunk 100] [--json]

    git worktree add /tmp/old efaf92d && .venv/bin/python bench/dedupe_ab.py /tmp/old

The figure ``newsflow bench`` reports as ``dedupe_ms_per_article`` (the offline decision over the extraction
benchmark texts, 12 variants each, one article at a time) moves with the machine: on a shared virtual machine
the same code measures 1.5 to 3.5 ms within an hour. So the two checkouts run at once, each in a process of its
own that parses the corpus with its own code, and decide it in turns of ``--chunk`` articles (A then B, B then A,
...): both see the same machine. Each pass starts from an empty state; the ratio B/A of their CPU times per pass
is the figure to quote. Checkouts from 2026-11-22 on are understood (the bench module moved since).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "extraction-benchmark" / "html"


def serve(root: str) -> None:
    """One side: parse the corpus with ``root``'s code, then run the parent's commands (``reset``; ``run I J``)."""
    sys.path.insert(0, root)
    from services.common.records import Article, utcnow
    from services.common.settings import get_settings
    from services.dedupe.offline import OfflineDeduper

    try:
        from services.ops import bench
    except ImportError:  # checkouts before the ops package
        from services import bench  # type: ignore[no-redef,attr-defined]
    try:
        from services.dedupe.offline import warm
    except ImportError:  # before the full warm-up: the comparison's, or nothing to load
        try:
            from services.dedupe.similarity import warm
        except ImportError:

            def warm() -> None:
                pass

    settings = get_settings()
    arts = []
    for i, inp in enumerate(bench.load_inputs([str(DATA)], 12, settings)):
        for res in bench.ingest_logic.parse_bytes(inp.data, inp.source, f"b{i}", utcnow(), settings.ingest):
            if isinstance(res, Article):
                arts.append(res)
    warm()
    deduper = OfflineDeduper(settings.dedupe)
    print(len(arts), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "reset":
            deduper = OfflineDeduper(settings.dedupe)
            print("ok", flush=True)
            continue
        t0 = time.process_time()
        for a in arts[int(cmd[1]) : int(cmd[2])]:
            deduper.decide(a)
        print(time.process_time() - t0, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", nargs="?", help="the checkout to compare against (A)")
    ap.add_argument("b", nargs="?", default=str(REPO), help="the checkout measured (B; default: this one)")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=100, help="articles a side decides in one turn")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.a is None:
        ap.error("give the checkout to compare against")
    if not DATA.is_dir():
        print(f"the corpus is not there: {DATA} (shared/data beside the checkout)", file=sys.stderr)
        return 2
    sides = [
        subprocess.Popen(
            [sys.executable, __file__, "--serve", str(Path(root).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for root in (args.a, args.b)
    ]

    def ask(side: subprocess.Popen[str], cmd: str) -> str:
        assert side.stdin is not None and side.stdout is not None
        side.stdin.write(cmd + "\n")
        side.stdin.flush()
        return side.stdout.readline().strip()

    counts = []
    for side in sides:
        assert side.stdout is not None
        counts.append(int(side.stdout.readline()))
    if counts[0] != counts[1]:
        print(f"the two checkouts parse different corpora: {counts}", file=sys.stderr)
        return 2
    n = counts[0]
    passes: list[dict[str, Any]] = []
    for k in range(args.passes):
        cpu = [0.0, 0.0]
        for side in sides:
            ask(side, "reset")
        for turn, i in enumerate(range(0, n, args.chunk)):
            for s in (0, 1) if turn % 2 == 0 else (1, 0):
                cpu[s] += float(ask(sides[s], f"run {i} {min(n, i + args.chunk)}"))
        ms = [round(1000 * c / n, 3) for c in cpu]
        passes.append({"a_ms": ms[0], "b_ms": ms[1], "ratio": round(ms[1] / ms[0], 3)})
        if not args.json:
            print(f"pass {k + 1}: A {ms[0]:.3f} ms  B {ms[1]:.3f} ms  B/A {ms[1] / ms[0]:.3f}", flush=True)
    for side in sides:
        assert side.stdin is not None
        side.stdin.close()
        side.wait()
    out = {"articles": n, "a": args.a, "b": args.b, "passes": passes}
    out["median_ratio"] = round(statistics.median(p["ratio"] for p in passes), 3)
    print(
        json.dumps(out, indent=2)
        if args.json
        else f"median B/A over {args.passes} passes: {out['median_ratio']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
