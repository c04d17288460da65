"""Nothing bad gets in, nothing good is lost: the bad-input corpus through `newsflow demo --json DIR`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.badinput import SECRET, write_corpus
from tests.conftest import REPO, SEEDS
from tests.harness import cli_env

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


def test_every_bad_input_is_dead_lettered_with_a_reason_and_good_ones_beside_them_are_indexed(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "inputs"
    expected = write_corpus(folder)
    for seed in SEEDS.iterdir():
        shutil.copy(seed, folder / seed.name)
    env = cli_env()
    env["NEWSFLOW_DATA_DIR"] = str(tmp_path / "nf")
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--json", str(folder)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)

    bad_total = sum(b for b, _ in expected.values())
    good_total = sum(g for _, g in expected.values())
    assert len(expected) >= 50 and bad_total >= 50
    assert report["articles_in"] == bad_total + good_total + 4
    dead_by_source = Counter(Path(d["source"]).name for d in report["dead_letters"])
    wrong = {
        name: (dead_by_source.get(name, 0), bad)
        for name, (bad, _) in expected.items()
        if dead_by_source.get(name, 0) != bad
    }
    assert wrong == {}, "file: (dead letters, expected)"
    assert all(d["reason"] for d in report["dead_letters"])
    assert report["dead_lettered"] == bad_total

    indexed_sources = [Path(d["source"]).name for d in report["documents"]]
    indexed_sources += [Path(x["source"]).name for d in report["documents"] for x in d["duplicates"]]
    goods = {name for name, (_, g) in expected.items() if g} | {p.name for p in SEEDS.iterdir()}
    assert goods <= set(indexed_sources), "good inputs beside bad ones are indexed"
    assert all(n == 0 for n in report["worker_restarts"].values())
    assert SECRET.split(":")[4] not in out.stdout, "a file outside the folder was read"
    refused = {Path(d["source"]).name: d["reason"] for d in report["dead_letters"] if d["stage"] == "ingest"}
    assert {
        k: refused.get(k) for k in ("passwd-link.txt", "outside-dir", "alias-link.txt", "loop", "pipe.txt")
    } == {
        "passwd-link.txt": "outside-directory",
        "outside-dir": "outside-directory",
        "alias-link.txt": "symlink",
        "loop": "symlink",
        "pipe.txt": "not-a-file",
    }
