"""`newsflow up` as a user runs it: start everything, ingest from another shell, search, Ctrl-C stops all; the
embedded index is kept in the data dir across stops, crashes and damaged snapshots."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from services.common.es import sync_client
from services.common.lifecycle import alive
from services.common.settings import ElasticSettings
from services.ops import snapshot
from services.ops.embedded import SearchServer
from tests.conftest import REPO, SEEDS
from tests.harness import cli_env

pytestmark = pytest.mark.integration

NAMES = ["Angela Merkel", "Emmanuel Macron", "Joe Biden", "Olaf Scholz", "Pedro Sanchez", "Mark Rutte"]
WORDS = [
    "government",
    "minister",
    "said",
    "talks",
    "would",
    "continue",
    "next",
    "week",
    "after",
    "officials",
    "met",
    "in",
    "the",
    "capital",
    "to",
    "discuss",
    "trade",
    "energy",
    "prices",
    "budget",
    "plans",
    "farmers",
    "workers",
    "unions",
    "strike",
    "hospital",
    "schools",
    "court",
    "ruling",
    "election",
    "campaign",
    "voters",
    "parliament",
    "vote",
    "law",
    "reform",
    "tax",
    "rise",
    "police",
    "investigation",
    "company",
    "shares",
    "market",
    "bank",
]


def short_articles(folder: Path, n: int) -> Path:
    """``n`` short, distinct English articles as one JSON Lines file (words drawn per article)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20)
    lines = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(45)]
        body = f"{rng.choice(NAMES)} {' '.join(words[:20])}. {' '.join(words[20:])} in report {i}."
        lines.append(json.dumps({"title": f"Report {i}: {' '.join(words[:4])}", "body": body}))
    path = folder / "more.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


class Up:
    """One `newsflow up` process in ``data_dir``, and the commands a user types beside it."""

    def __init__(self, data_dir: Path, *args: str, enrich_workers: int = 1, **env: str) -> None:
        self.data_dir = data_dir
        self.env = cli_env() | {
            "NEWSFLOW_DATA_DIR": str(data_dir),
            "NEWSFLOW_SUPERVISOR__STOP_TIMEOUT_S": "5",
        }
        self.env |= env
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", "--enrich-workers", str(enrich_workers), *args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr = ""
        self.described: dict[str, Any] = {}

    @property
    def stack_file(self) -> Path:
        return self.data_dir / "stack.json"

    def ready(self, timeout_s: float = 120) -> Up:
        deadline = time.monotonic() + timeout_s
        while self.mine() is None:
            if self.proc.poll() is not None:
                raise AssertionError(self.proc.stderr.read() if self.proc.stderr else "")
            assert time.monotonic() < deadline, "newsflow up did not write its stack file"
            time.sleep(0.3)
        self.described = self.mine() or {}
        return self

    def mine(self) -> dict[str, Any] | None:
        """The stack file when this process wrote it (one left by a killed run names another pid)."""
        try:
            described: dict[str, Any] = json.loads(self.stack_file.read_text())
        except (OSError, ValueError):
            return None
        return described if described.get("supervisor", {}).get("pid") == self.proc.pid else None

    def pids(self) -> list[int]:
        """Every process the stack runs: workers and both servers."""
        return [w["pid"] for w in self.described["workers"].values()] + [
            s["pid"] for s in self.described["servers"].values()
        ]

    def run(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout

    def documents(self) -> dict[str, dict[str, Any]]:
        """What a user finds in the index, by document id."""
        url = json.loads(self.stack_file.read_text())["env"]["NEWSFLOW_ES__URL"]
        es = sync_client(ElasticSettings(url=url, compat="osmem"))
        try:
            es.indices.refresh(index="newsflow-articles")
            hits = es.search(index="newsflow-articles", size=10000, query={"term": {"pending": False}})
            return {
                h["_id"]: {
                    "event_id": h["_source"].get("event_id"),
                    "entity_ids": sorted(h["_source"].get("entity_ids") or []),
                    "duplicates": sorted(
                        (d["source"], d["kind"], d.get("ingest_key"))
                        for d in h["_source"].get("duplicates") or []
                    ),
                }
                for h in hits["hits"]["hits"]
            }
        finally:
            es.close()

    def wait_records(self, n: int, timeout_s: float = 300) -> dict[str, dict[str, Any]]:
        """Wait until ``n`` records sent have ended in the index: as documents or as duplicates recorded."""
        deadline = time.monotonic() + timeout_s
        docs: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            docs = self.documents()
            if records(docs) >= n:
                return docs
            time.sleep(1)
        raise AssertionError(f"{records(docs)} of {n} records in the index after {timeout_s} s")

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 120) -> int:
        self.proc.send_signal(sig)
        _, self.stderr = self.proc.communicate(timeout=timeout_s)
        return self.proc.returncode


def records(docs: dict[str, dict[str, Any]]) -> int:
    return len(docs) + sum(len(d["duplicates"]) for d in docs.values())


def gone(pids: list[int], timeout_s: float = 60) -> list[int]:
    """The pids still alive after ``timeout_s`` (waits for all to exit)."""
    deadline = time.monotonic() + timeout_s
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [p for p in pids if alive(p)]


def restored(stderr: str) -> int:
    m = re.search(r"restored the snapshot of .*?: (\d+) articles", stderr)
    assert m, stderr[-3000:]
    return int(m.group(1))


def test_up_starts_the_stack_takes_ingest_and_search_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    up = Up(tmp_path / "nf", enrich_workers=2)
    try:
        up.ready()
        stages = sorted(name.split("#")[0] for name in up.described["workers"])
        assert stages == ["dedupe", "enrich", "enrich", "index", "ingest"], "two NER workers: one per core"
        assert up.described["embedded"]
        assert any("push" in w for w in up.described["workers"].values())
        assert json.loads(up.run("ingest", "--quiet", "seeds/") or '{"sent": 4}')
        deadline = time.monotonic() + 120
        hits: list[Any] = []
        while time.monotonic() < deadline and not hits:
            hits = json.loads(up.run("search", "Lukashenko", "--json"))["hits"]
            time.sleep(1)
        assert hits, "the seeds became searchable"
    finally:
        code = up.stop()
    assert code == 0, up.stderr[-3000:]
    assert not up.stack_file.exists()
    assert gone(up.pids(), 5) == [], "every worker and both servers had exited when `up` returned"
    for line in ("data dir: ", "ingest: stopping", "workers: stopping", "search: snapshot of", "stopped"):
        assert line in up.stderr, f"{line!r} missing from what Ctrl-C printed: {up.stderr[-3000:]}"


def test_a_clean_stop_keeps_every_document_and_a_re_ingest_adds_nothing_new(tmp_path: Path) -> None:
    data = tmp_path / "nf"
    more = short_articles(tmp_path / "in", 200)
    sent = 4 + 200
    first = Up(data).ready()
    try:
        first.run("ingest", "--quiet", str(SEEDS), str(more))
        before = first.wait_records(sent)
    finally:
        assert first.stop() == 0, first.stderr[-3000:]
    assert len(before) > 150, "the short articles are distinct stories"

    second = Up(data).ready()
    try:
        assert second.documents() == before, (
            "same ids, duplicates, event ids and entity ids after the restart"
        )
        # The same files again (the same inputs: their ingest ids are the files' own), and one new file that
        # tells when the re-ingest has gone through the pipeline.
        marker = tmp_path / "marker.json"
        body = (
            "Harbour pilots in Valparaiso ended a nine-day strike on Friday after the port authority agreed to "
            "hire twelve more pilots and to review night shifts by March, the union said in a statement."
        )
        marker.write_text(json.dumps({"title": "Harbour pilots end strike", "body": body}))
        second.run("ingest", "--quiet", str(SEEDS), str(more), str(marker))
        second.wait_records(records(before) + 1)
        after = second.documents()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # settled: nothing changes for 10 s
            time.sleep(10)
            now = second.documents()
            if now == after:
                break
            after = now
    finally:
        assert second.stop() == 0, second.stderr[-3000:]
    assert restored(second.stderr) == len(before)
    new = {k: v for k, v in after.items() if k not in before}
    assert len(new) == 1, "only the marker is a new document"
    assert {k: v for k, v in after.items() if k in before} == before, "nothing new: no document, no duplicate"


def test_after_a_sigkill_no_process_is_left_and_the_next_start_restores_the_snapshot_and_says_what_is_missing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "nf"
    more = short_articles(tmp_path / "in", 5)
    up = Up(data, NEWSFLOW_SUPERVISOR__SNAPSHOT_INTERVAL_S="1").ready()
    try:
        up.run("ingest", "--quiet", str(SEEDS))
        seeds = len(up.wait_records(4))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # a periodic snapshot with the seeds
            snap = snapshot.load(data)
            if snap and snap.documents.get("newsflow-articles-v1", 0) >= seeds:
                break
            time.sleep(0.5)
        up.run("ingest", "--quiet", str(more))
        total = len(up.wait_records(4 + 5))
    finally:
        up.stop(signal.SIGKILL)
    assert gone(up.pids(), 60) == [], "workers, broker and search server exited by themselves"

    again = Up(data).ready()
    code = again.stop()
    assert code == 0, again.stderr[-5000:]
    m = re.search(r"did not stop cleanly: (\d+) articles indexed after the snapshot", again.stderr)
    assert m, again.stderr[-3000:]
    kept, missing = restored(again.stderr), int(m.group(1))
    assert kept >= seeds
    # Every article is restored, or counted as indexed after the snapshot, or its input (the 5-record file: one
    # input) is listed to ingest again: a SIGKILL may land before the supervisor read the last acknowledgements.
    listed = (data / "reingest.txt").read_text() if (data / "reingest.txt").exists() else ""
    assert kept + missing >= total or str(more) in listed, again.stderr[-3000:]
    if kept < total:
        assert str(more) in listed, "the sources to ingest again are listed"


def test_a_damaged_snapshot_refuses_the_start_naming_the_file_and_discard_snapshot_starts_empty(
    tmp_path: Path,
) -> None:
    data = tmp_path / "nf"
    server = SearchServer().start()
    es = sync_client(ElasticSettings(url=server.url, compat="osmem"))
    try:
        es.index(index="newsflow-articles-v1", id="a", document={"id": "a"})
        snap = snapshot.take(es, data)
    finally:
        es.close()
        server.stop()
    victim = next(snap.path.glob("*/newsflow-articles-v1.ndjson"))
    victim.write_bytes(victim.read_bytes()[:-7])

    refused = Up(data)
    _, err = refused.proc.communicate(timeout=60)
    assert refused.proc.returncode == 2
    assert str(victim) in err and "--discard-snapshot" in err
    assert not refused.stack_file.exists(), "nothing was started"

    empty = Up(data, "--discard-snapshot").ready()
    assert empty.documents() == {}
    assert empty.stop() == 0
    assert "starting with an empty index" in empty.stderr
    assert list(data.glob("snapshot.discarded-*")), "the damaged snapshot is kept aside"


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
    # bare NER measured before and after the run; the ratio is against their mean
    before, after = r["ner_only_before_articles_per_s"], r["ner_only_after_articles_per_s"]
    assert before > 0 and after > 0
    assert abs(r["ner_only_articles_per_s"] - (before + after) / 2) <= 0.02


def test_demo_keep_starts_from_the_data_dirs_snapshot_and_leaves_one(tmp_path: Path) -> None:
    env = cli_env() | {"NEWSFLOW_DATA_DIR": str(tmp_path / "nf")}

    def demo() -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "services.cli", "demo", "--keep", "--json", "seeds/"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        report: dict[str, Any] = json.loads(out.stdout)
        return report

    first = demo()
    assert snapshot.load(tmp_path / "nf") is not None
    second = demo()
    assert sorted(d["id"] for d in second["documents"]) == sorted(d["id"] for d in first["documents"])
    assert second["indexed"] == first["indexed"], "the seeds again are no new documents"


def test_a_stop_that_cannot_wait_for_the_stages_loses_nothing_the_next_start_sends_the_rest_first(
    tmp_path: Path,
) -> None:
    data = tmp_path / "nf"
    more = short_articles(tmp_path / "in", 200)
    first = Up(data, NEWSFLOW_SUPERVISOR__DRAIN_TIMEOUT_S="1").ready()
    try:
        first.run("ingest", "--quiet", str(SEEDS), str(more))
    finally:
        t0 = time.monotonic()
        assert first.stop() == 0, first.stderr[-3000:]
        print(f"busy stop with a 1 s drain bound took {time.monotonic() - t0:.1f} s")
    m = re.search(r"broker: (\d+) messages not consumed", first.stderr)
    assert m and int(m.group(1)) > 0, first.stderr[-3000:]
    assert (data / "replay.ndjson").exists()

    second = Up(data).ready()
    try:
        docs = second.wait_records(204)
    finally:
        assert second.stop() == 0, second.stderr[-3000:]
    assert re.search(r"sent \d+ messages left in the broker at the last stop", second.stderr)
    assert records(docs) == 204, "every article once: nothing lost, nothing doubled"
