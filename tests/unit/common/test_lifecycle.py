"""A worker exits by itself when its supervisor is gone: real processes, the supervisor killed with SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from services.common.lifecycle import alive, supervisor_gone
from tests.conftest import REPO

# The "supervisor" starts a "worker" in its own session (as newsflow up does), prints its pid, and waits.
SUPERVISOR = """
import subprocess, sys, time
w = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], start_new_session=True)
print(w.pid, flush=True)
time.sleep(600)
"""
# The "worker" watches its parent and, told to stop, writes how it stopped.
WORKER = """
import os, signal, sys, time
from services.common.lifecycle import exit_with_supervisor
def on_term(signum, frame):
    open(sys.argv[1], "w").write("sigterm")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
exit_with_supervisor(os.getppid(), poll_s=0.1)
time.sleep(600)
"""
IGNORES_SIGTERM = WORKER.replace(
    '    open(sys.argv[1], "w").write("sigterm")\n    sys.exit(0)', "    pass"
).replace(
    "exit_with_supervisor(os.getppid(), poll_s=0.1)",
    "exit_with_supervisor(os.getppid(), poll_s=0.1, grace_s=0.5)",
)


def _orphan_after_supervisor_killed(worker_code: str, out: Path) -> int:
    sup = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, worker_code, str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    assert sup.stdout is not None
    worker = int(sup.stdout.readline())
    time.sleep(0.5)
    assert alive(worker)
    sup.kill()
    sup.wait()
    deadline = time.monotonic() + 20
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return worker


def test_a_worker_stops_gracefully_when_its_supervisor_is_killed(tmp_path: Path) -> None:
    worker = _orphan_after_supervisor_killed(WORKER, tmp_path / "how")
    assert not alive(worker), "the orphaned worker is gone"
    assert (tmp_path / "how").read_text() == "sigterm", "through its own SIGTERM handler (graceful)"


def test_a_worker_whose_graceful_stop_hangs_is_ended_anyway(tmp_path: Path) -> None:
    worker = _orphan_after_supervisor_killed(IGNORES_SIGTERM, tmp_path / "how")
    assert not alive(worker)


def test_a_running_parent_is_not_taken_for_gone_and_an_exited_process_is() -> None:
    assert not supervisor_gone(os.getppid(), os.getppid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert supervisor_gone(child.pid, os.getppid())
