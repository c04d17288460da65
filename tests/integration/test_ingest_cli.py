"""`newsflow ingest` against the real broker: it says what it could not send, and exits non-zero for it."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from services.ops.embedded import Stack
from services.ops.init import init
from tests.conftest import REPO
from tests.harness import cli_env
from tests.harness import test_settings as stack_test_settings

pytestmark = pytest.mark.integration
STORY = "The harbour bridge reopened on Monday after two years of repairs, the city council said."


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ingest_counts_sent_refused_and_failed_and_exits_1_when_any_input_was_not_sent(
    stack: Stack, tmp_path: Path
) -> None:
    settings = stack_test_settings(stack, "c" + uuid.uuid4().hex[:8])
    init(settings)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "story.txt").write_text(STORY)
    os.mkfifo(folder / "pipe.txt")
    env = cli_env(settings) | {
        "NEWSFLOW_INGEST__FETCH_ALLOW_HOSTS": '["localhost"]',
        "NEWSFLOW_INGEST__FETCH_DEADLINE_S": "5",
        "NEWSFLOW_INGEST__FEED_STATE_PATH": str(tmp_path / "feeds.json"),
    }
    blocked = "http://127.0.0.1:9/private"  # loopback, not allowed: refused for good
    down = f"http://localhost:{closed_port()}/page"  # allowed, nothing listens: a transient failure
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "ingest",
            "--quiet",
            str(folder),
            "--url",
            blocked,
            "--url",
            down,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr[-2000:]
    assert f"newsflow: refused {folder / 'pipe.txt'}: not-a-file" in out.stderr
    assert f"newsflow: refused {blocked}: blocked-address" in out.stderr
    assert f"newsflow: failed {down}: fetch-failed" in out.stderr

    ok = subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", str(folder / "story.txt")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout.splitlines()[-1]) == {"sent": 1, "refused": 0, "failed": 0}


def test_ingest_json_output_has_counts_and_problems(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.cli import cmd_ingest

    settings = stack_test_settings(stack, "k" + uuid.uuid4().hex[:8])
    init(settings)
    (tmp_path / "story.txt").write_text(STORY)
    args = argparse.Namespace(
        paths=[str(tmp_path)], url=None, feed=None, poll_every=0, quiet=False, json=True
    )
    os.mkfifo(tmp_path / "pipe.txt")
    assert cmd_ingest(args, settings) == 1
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["sent"] == 1 and report["refused"] == 1 and report["failed"] == 0
    (problem,) = report["problems"]
    assert problem["source"] == str(tmp_path / "pipe.txt") and problem["reason"] == "not-a-file"
    assert problem["outcome"] == "refused"
