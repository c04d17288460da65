"""Starts the embedded stack and worker processes for ``newsflow up``, ``demo`` and ``bench``, and stops them."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.common.lifecycle import alive
from services.common.settings import Settings
from services.common.topics import Stage
from services.ops.embedded import Stack, free_port, start_stack

log = logging.getLogger(__name__)


@dataclass
class WorkerProc:
    stage: Stage
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    push_port: int | None = None
    signalled: bool = False  # SIGTERM sent: stopping

    def terminate(self) -> None:
        """Ask the worker to stop (once: a second SIGTERM would cut faust's graceful stop short)."""
        if not self.signalled and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.signalled = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Running:
    """A running pipeline: the servers (embedded or given) and the worker processes."""

    bootstrap: str
    es_url: str
    env: dict[str, str]
    stack: Stack | None = None
    workers: list[WorkerProc] = field(default_factory=list)
    log_dir: Path = Path(".newsflow/logs")
    restarts: dict[Stage, int] = field(default_factory=dict)

    def start_worker(self, stage: Stage, extra_env: dict[str, str] | None = None) -> WorkerProc:
        port = free_port()
        n = sum(1 for w in self.workers if w.stage == stage)
        log_path = self.log_dir / f"worker-{stage}{'-' + str(n) if n else ''}.log"
        env = {
            **os.environ,
            **self.env,
            "NEWSFLOW_WEB_PORT": str(port),
            # the worker exits by itself when this process is gone (services.common.lifecycle)
            "NEWSFLOW_SUPERVISOR__PID": str(os.getpid()),
            **(extra_env or {}),
        }
        push_port = None
        if stage == "ingest":
            push_port = free_port()
            env["NEWSFLOW_INGEST__PUSH_PORT"] = str(push_port)
        out = log_path.open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", stage],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        w = WorkerProc(stage, port, proc, log_path, push_port)
        self.workers.append(w)
        return w

    def restart_exited(self) -> list[WorkerProc]:
        """Start a new worker in place of each one that exited; the restarts are counted per stage."""
        restarted = []
        for w in list(self.workers):
            if w.proc.poll() is None:
                continue
            log.error(
                "worker exited stage=%s code=%s log=%s; restarting", w.stage, w.proc.returncode, w.log_path
            )
            self.workers.remove(w)
            self.restarts[w.stage] = self.restarts.get(w.stage, 0) + 1
            restarted.append(self.start_worker(w.stage))
        return restarted

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Wait until every worker answers /readyz (joined its group, has partitions)."""
        deadline = time.monotonic() + timeout_s
        pending = list(self.workers)
        while pending and time.monotonic() < deadline:
            for w in list(pending):
                if w.proc.poll() is not None:
                    raise RuntimeError(f"worker {w.stage} exited with {w.proc.returncode}; see {w.log_path}")
                try:
                    with urllib.request.urlopen(w.url + "/readyz", timeout=1) as r:
                        if r.status == 200:
                            pending.remove(w)
                except OSError:
                    pass
            time.sleep(0.3)
        if pending:
            raise RuntimeError(f"workers not ready after {timeout_s}s: {[w.stage for w in pending]}")

    def stop_worker(self, w: WorkerProc, sig: int = signal.SIGTERM, timeout_s: float = 30) -> None:
        if w.proc.poll() is None:
            w.proc.send_signal(sig)
            try:
                w.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait(5)
        if w in self.workers:
            self.workers.remove(w)

    def stop_workers(
        self, workers: list[WorkerProc] | None = None, timeout_s: float = 30
    ) -> list[WorkerProc]:
        """SIGTERM to ``workers`` (default: all) at once, SIGKILL to those still there after ``timeout_s``.
        Returns the ones that had to be killed."""
        group = list(self.workers if workers is None else workers)
        for w in group:
            w.terminate()
        deadline = time.monotonic() + timeout_s
        killed = []
        for w in group:
            try:
                w.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait(5)
                killed.append(w)
            if w in self.workers:
                self.workers.remove(w)
        return killed

    def stop(self, timeout_s: float = 30) -> None:
        self.stop_workers(timeout_s=timeout_s)
        if self.stack is not None:
            self.stack.stop(min(timeout_s, 10))

    def describe(self) -> dict[str, object]:
        return {
            "kafka": self.bootstrap,
            "elasticsearch": self.es_url,
            "embedded": self.stack is not None,
            "supervisor": {"pid": os.getpid()},
            "servers": {
                name: {"pid": proc.pid}
                for name, proc in (
                    ("kafka", self.stack.broker.proc if self.stack else None),
                    ("elasticsearch", self.stack.search.proc if self.stack else None),
                )
                if proc is not None
            },
            "workers": {
                f"{w.stage}#{i}": {
                    "pid": w.proc.pid,
                    "health": w.url + "/readyz",
                    "metrics": w.url + "/metrics",
                    "log": str(w.log_path),
                }
                | ({"push": f"http://127.0.0.1:{w.push_port}/articles"} if w.push_port else {})
                for i, w in enumerate(self.workers)
            },
        }


def start_servers(settings: Settings, seeds: list[Path] | None = None) -> Running:
    """Use the configured Kafka/Elasticsearch, or start the embedded ones when they are not set (the search
    server loading ``seeds``, snapshot directories, at start)."""
    log_dir = Path(settings.data_dir) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    if settings.kafka.bootstrap and settings.es.url:
        env = {"NEWSFLOW_KAFKA__BOOTSTRAP": settings.kafka.bootstrap, "NEWSFLOW_ES__URL": settings.es.url}
        return Running(settings.kafka.bootstrap, settings.es.url, env, None, log_dir=log_dir)
    if settings.kafka.bootstrap or settings.es.url:
        raise RuntimeError("set both NEWSFLOW_KAFKA__BOOTSTRAP and NEWSFLOW_ES__URL, or neither (embedded)")
    stack = start_stack(
        log_dir,
        search_gogc=settings.embedded_search_gogc,
        search_memory_limit_mb=settings.embedded_search_memory_limit_mb,
        seeds=seeds,
    )
    return Running(stack.broker.bootstrap, stack.search.url, stack.env(), stack, log_dir=log_dir)


def _stack_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / "stack.json"


def write_stack_file(settings: Settings, running: Running) -> Path:
    path = _stack_file(settings)
    path.write_text(json.dumps(running.describe() | {"env": running.env}, indent=2))
    return path


def read_stack_env(settings: Settings) -> dict[str, str]:
    """Env of a stack started by ``newsflow up`` in this directory (empty when none runs)."""
    path = _stack_file(settings)
    if not path.exists() or running_supervisor(settings) is None:
        return {}  # none, or left by a `newsflow up` that was killed: its servers are gone
    data = json.loads(path.read_text())
    env: dict[str, str] = data.get("env", {})
    return env


def running_supervisor(settings: Settings) -> int | None:
    """The pid of the ``newsflow up`` whose stack file is in this data dir, if it still runs. A stack file left
    by one that was killed (it could not remove it) is removed here."""
    path = _stack_file(settings)
    try:
        pid = int(json.loads(path.read_text()).get("supervisor", {}).get("pid", 0))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError):
        pid = 0
    if pid and alive(pid):
        return pid
    path.unlink(missing_ok=True)
    return None


def remove_stack_file(settings: Settings) -> None:
    _stack_file(settings).unlink(missing_ok=True)


def stack_settings(settings: Settings) -> Settings:
    """Settings pointed at the stack of ``newsflow up`` in this directory when no servers are configured."""
    if settings.kafka.bootstrap:
        return settings
    env = read_stack_env(settings)
    if not env:
        raise SystemExit(
            "no stack: set NEWSFLOW_KAFKA__BOOTSTRAP / NEWSFLOW_ES__URL or run `newsflow up` first"
        )
    return settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"bootstrap": env["NEWSFLOW_KAFKA__BOOTSTRAP"]}),
            "es": settings.es.model_copy(
                update={
                    "url": env["NEWSFLOW_ES__URL"],
                    "compat": env.get("NEWSFLOW_ES__COMPAT", settings.es.compat),
                }
            ),
        }
    )
