"""`newsflow up` as a user runs it: start everything, ingest from another shell, search, Ctrl-C stops all."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.harness import cli_env

pytestmark = pytest.mark.integration


def test_up_starts_the_stack_takes_ingest_and_search_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    env = cli_env()
    env["NEWSFLOW_DATA_DIR"] = str(tmp_path / "nf")
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stack_file = tmp_path / "nf" / "stack.json"
    try:
        deadline = time.monotonic() + 120
        while not stack_file.exists():
            assert up.poll() is None, up.stderr.read() if up.stderr else ""
            assert time.monotonic() < deadline, "newsflow up did not write its stack file"
            time.sleep(0.3)
        described = json.loads(stack_file.read_text())
        pids = [w["pid"] for w in described["workers"].values()]
        stages = sorted(name.split("#")[0] for name in described["workers"])
        assert stages == ["dedupe", "enrich", "enrich", "index", "ingest"], "two NER workers: one per core"
        assert described["embedded"]
        assert any("push" in w for w in described["workers"].values())

        def run(*args: str) -> str:
            out = subprocess.run(
                [sys.executable, "-m", "services.cli", *args],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert out.returncode == 0, out.stderr[-2000:]
            return out.stdout

        assert json.loads(run("ingest", "--quiet", "seeds/") or '{"sent": 4}')
        deadline = time.monotonic() + 120
        hits: list = []
        while time.monotonic() < deadline and not hits:
            hits = json.loads(run("search", "Lukashenko", "--json"))["hits"]
            time.sleep(1)
        assert hits, "the seeds became searchable"
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(60)
    assert code == 0
    assert not stack_file.exists()
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )


def test_bench_runs_on_a_tiny_input_and_reports_every_figure(tmp_path: Path) -> None:
    env = cli_env()
    env["NEWSFLOW_DATA_DIR"] = str(tmp_path / "nf")
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "bench", "--json", "seeds/", "--enrich-workers", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout)
    assert r["articles"] == 4
    assert set(r) >= {
        "e2e_articles_per_s",
        "ner_only_articles_per_s",
        "ratio",
        "dedupe_ms_per_article",
        "latency_p50_s",
        "latency_p99_s",
        "stage_seconds",
        "rss_mb",
    }
    assert set(r["stage_seconds"]) == set(r["rss_mb"]) == {"ingest", "dedupe", "enrich", "index"}
