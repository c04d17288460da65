"""The broker and the search server in one namespace, each worker in its own, the test process on its own link:
a real stream through the four workers, over links the test can cut, blackhole or slow down.

The server node has three addresses: .A the broker (Tansu), .B the search server (osmem), .C the fault proxy
(when a test puts one on the path; Tansu then advertises the proxy, so every Kafka connection passes it).
A worker is ``ip netns exec NS python -m services.cli worker STAGE``, its web server bound to its own address.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from services.common.es import sync_client
from services.common.kafka import create_topics, producer
from services.common.records import InboxItem
from services.common.settings import ElasticSettings, KafkaSettings, Settings
from services.common.topics import STAGES, Stage
from services.ingest.submit import send
from services.ops.embedded import osmem_binary, tansu_binary
from services.ops.init import init
from services.ops.tracking import Tracker
from tests.conftest import REPO
from tests.harness import env_of
from tests.netfault.net import Net, Node

KAFKA_PORT = 9092
SEARCH_PORT = 9200
WEB_PORT = 8000

# Short timeouts so a partition is noticed in seconds (a real deployment keeps its defaults: a partition then
# costs more time, not more data).
FAST = {
    "NEWSFLOW_KAFKA__SESSION_TIMEOUT_S": "10",
    "NEWSFLOW_KAFKA__HEARTBEAT_INTERVAL_S": "2",
    "NEWSFLOW_ES__REQUEST_TIMEOUT_S": "5",
    "NEWSFLOW_RETRY__MAX_S": "2",
    "NEWSFLOW_LOG_LEVEL": "INFO",
}


@dataclass
class Servers:
    node: Node
    broker_addr: str
    search_addr: str
    proxy_addr: str

    @property
    def bootstrap(self) -> str:
        return f"{self.broker_addr}:{KAFKA_PORT}"

    @property
    def search_url(self) -> str:
        return f"http://{self.search_addr}:{SEARCH_PORT}"


def _wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} does not answer after {timeout_s}s")


def _wait_tcp(host: str, port: int, timeout_s: float) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout_s}s")


def start_servers(net: Net, log_dir: Path, advertise_proxy: bool = False) -> Servers:
    node = net.node("srv", n_addrs=3)
    broker, search, proxy = node.addrs
    adv = proxy if advertise_proxy else broker
    net.spawn(
        node,
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            f"tcp://{broker}:{KAFKA_PORT}",
            "--advertised-listener-url",
            f"tcp://{adv}:{KAFKA_PORT}",
            "--storage-engine",
            "memory://tansu/",
        ],
        log_dir / "tansu.log",
    )
    osmem = net.spawn(
        node,
        [
            osmem_binary(),
            "-addr",
            f"{search}:{SEARCH_PORT}",
            "-no-stdin-watch",
            "-parent-pid",
            str(os.getpid()),
        ],
        log_dir / "osmem.log",
        env=os.environ | {"GOGC": "400", "GOMEMLIMIT": "1024MiB"},
        stdout_pipe=True,
    )
    assert osmem.stdout is not None
    line = osmem.stdout.readline()
    if not line.strip().startswith(b"{"):
        raise RuntimeError(f"osmem-server did not start: {line!r}")
    _wait_tcp(broker, KAFKA_PORT, 20)
    _wait_http(f"http://{search}:{SEARCH_PORT}/", 20)
    return Servers(node, broker, search, proxy)


@dataclass
class NetWorker:
    stage: Stage
    node: Node
    proc: Any
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{self.node.addr}:{WEB_PORT}"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=3) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metric(self, name: str) -> float | None:
        _, text = self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def processed(self) -> float:
        """Messages this worker's step finished (ok or duplicate), from its /metrics."""
        _, text = self.get("/metrics")
        total = 0.0
        for line in text.splitlines():
            if line.startswith("newsflow_messages_total{") and (
                'outcome="ok"' in line or 'outcome="duplicate"' in line
            ):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def ready(self) -> bool:
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False


@dataclass
class NetPipeline:
    net: Net
    servers: Servers
    settings: Settings
    tmp: Path
    kafka_addr: str
    search_addr: str
    workers: list[NetWorker] = field(default_factory=list)
    tracker: Tracker | None = None
    _producer: KafkaProducer | None = None
    proxy: Proxy | None = None
    sent_at: dict[str, float] = field(default_factory=dict)
    done_at: dict[str, float] = field(default_factory=dict)

    # --- workers ------------------------------------------------------------------------------------------
    def start_worker(self, stage: Stage, env: dict[str, str] | None = None) -> NetWorker:
        n = sum(1 for w in self.workers if w.stage == stage)
        node = self.net.node(f"{stage}{n}")
        log_path = self.tmp / "logs" / f"worker-{stage}-{n}.log"
        data_dir = self.tmp / f"data-{stage}-{n}"
        data_dir.mkdir(parents=True, exist_ok=True)
        wenv = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
        wenv |= env_of(self.settings) | FAST
        wenv |= {
            "NEWSFLOW_KAFKA__BOOTSTRAP": f"{self.kafka_addr}:{KAFKA_PORT}",
            "NEWSFLOW_ES__URL": f"http://{self.search_addr}:{SEARCH_PORT}",
            "NEWSFLOW_DATA_DIR": str(data_dir),
            "NEWSFLOW_WEB_HOST": node.addr,
            "NEWSFLOW_WEB_PORT": str(WEB_PORT),
            "NEWSFLOW_SUPERVISOR__PID": str(os.getpid()),
            "PYTHONPATH": str(REPO),
        }
        wenv |= env or {}
        proc = self.net.spawn(
            node, [sys.executable, "-m", "tests.netfault.launch", "worker", stage], log_path, env=wenv
        )
        w = NetWorker(stage, node, proc, log_path)
        self.workers.append(w)
        return w

    def start(self, stages: Iterable[Stage] = STAGES, env: dict[str, dict[str, str]] | None = None) -> None:
        init(self.settings)
        for st in stages:
            self.start_worker(st, (env or {}).get(st))
        self.tracker = Tracker(self.settings)

    def of(self, stage: str) -> list[NetWorker]:
        return [w for w in self.workers if w.stage == stage]

    def wait_ready(self, workers: list[NetWorker] | None = None, timeout_s: float = 180) -> float:
        """Seconds until every worker answers /readyz 200 (joined its group, holds partitions)."""
        t0 = time.monotonic()
        pending = list(workers if workers is not None else self.workers)
        while pending:
            self.check_alive()
            pending = [w for w in pending if not w.ready()]
            if time.monotonic() - t0 > timeout_s:
                raise AssertionError(f"not ready after {timeout_s}s: {[w.node.name for w in pending]}")
            if pending:
                time.sleep(0.5)
        return time.monotonic() - t0

    def check_alive(self) -> None:
        for w in self.workers:
            if w.proc.poll() is not None:
                raise AssertionError(f"worker {w.node.name} died: {w.log_path.read_text()[-3000:]}")

    # --- input --------------------------------------------------------------------------------------------
    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = producer(self.settings.kafka)
        return self._producer

    def send_bytes(self, source: str, data: bytes) -> str:
        import base64

        iid = uuid.uuid4().hex
        item = InboxItem(ingest_id=iid, source=source, content_b64=base64.b64encode(data).decode())
        assert self.tracker is not None
        self.tracker.expect(iid)
        send(self.settings, self.producer, item)
        self.sent_at[iid] = time.monotonic()
        return iid

    def send_json(self, source: str, records: list[dict[str, str]]) -> str:
        return self.send_bytes(source, b"\n".join(json.dumps(r).encode() for r in records))

    def wait(self, timeout_s: float = 300) -> Tracker:
        """Until every input is indexed or dead-lettered; records when each one finished."""
        assert self.tracker is not None
        self.producer.flush()
        deadline = time.monotonic() + timeout_s
        while True:
            self.tracker.poll()
            now = time.monotonic()
            pending = set(self.tracker.pending())
            for iid in self.sent_at:
                if iid not in pending and iid not in self.done_at:
                    self.done_at[iid] = now
            if not pending:
                return self.tracker
            self.check_alive()
            if now > deadline:
                logs = {w.node.name: w.log_path.read_text()[-2500:] for w in self.workers}
                raise AssertionError(f"{len(pending)} inputs unfinished after {timeout_s}s; logs: {logs}")

    # --- the index ----------------------------------------------------------------------------------------
    def es(self) -> Elasticsearch:
        return sync_client(self.settings.es)

    def documents(self) -> list[dict[str, Any]]:
        es = self.es()
        try:
            es.indices.refresh(index=self.settings.es.alias)
            out: list[dict[str, Any]] = []
            resp = es.search(index=self.settings.es.alias, size=10000, query={"match_all": {}})
            out = [h["_source"] | {"_id": h["_id"]} for h in resp["hits"]["hits"]]
            return out
        finally:
            es.close()

    def stop(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
        if self.tracker is not None:
            self.tracker.close()
        for w in self.workers:
            if w.proc.poll() is None:
                w.proc.terminate()
        for w in self.workers:
            try:
                w.proc.wait(20)
            except Exception:
                w.proc.kill()
        if self.proxy is not None:
            self.proxy.stop()


def make_net_pipeline(
    net: Net,
    tmp: Path,
    partitions: int = 4,
    proxy_args: list[str] | None = None,
    everything_via_proxy: bool = True,
) -> NetPipeline:
    """Servers in their namespace and the settings of a pipeline on them (workers not started yet).
    ``proxy_args``: start the fault proxy with them; with ``everything_via_proxy`` the broker advertises the
    proxy (every Kafka connection passes it) and the workers reach the search server through it too; without,
    only a worker pointed at ``http://<proxy_addr>:9200`` passes it."""
    (tmp / "logs").mkdir(parents=True, exist_ok=True)
    via_proxy = proxy_args is not None and everything_via_proxy
    servers = start_servers(net, tmp / "logs", advertise_proxy=via_proxy)
    proxy = start_proxy(net, servers, tmp / "logs", *proxy_args) if proxy_args is not None else None
    prefix = "nf" + uuid.uuid4().hex[:8]
    kafka_host = servers.proxy_addr if via_proxy else servers.broker_addr
    search_host = servers.proxy_addr if via_proxy else servers.search_addr
    kafka = KafkaSettings(bootstrap=f"{kafka_host}:{KAFKA_PORT}", topic_prefix=prefix, partitions=partitions)
    es = ElasticSettings(
        url=f"http://{servers.search_addr}:{SEARCH_PORT}",
        compat="osmem",
        index_prefix=f"{prefix}-articles",
        alias=f"{prefix}-articles",
        dedupe_index=f"{prefix}-dedupe",
    )
    s = Settings(kafka=kafka, es=es, data_dir=str(tmp / "data"))
    create_topics(s.kafka)
    return NetPipeline(net, servers, s, tmp, kafka_host, search_host, proxy=proxy)


@dataclass
class Proxy:
    """``tests.netfault.faultproxy`` running in the server namespace; its stdout lines arrive in ``lines``."""

    proc: Any
    lines: Any

    def next_line(self, prefix: str, timeout_s: float) -> str:
        import queue

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line: str = self.lines.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the proxy printed no {prefix!r} in {timeout_s}s") from None
            if line.startswith(prefix):
                return line
            if time.monotonic() > deadline:
                raise AssertionError(f"the proxy printed no {prefix!r} in {timeout_s}s")

    def stop(self) -> str:
        """SIGTERM; returns its STATS line."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.next_line("STATS", 10)
        except AssertionError:
            return ""


def start_proxy(net: Net, servers: Servers, log_dir: Path, *args: str) -> Proxy:
    import queue
    import threading

    p = servers.proxy_addr
    maps = [
        f"{p}:{KAFKA_PORT}={servers.broker_addr}:{KAFKA_PORT}",
        f"{p}:{SEARCH_PORT}={servers.search_addr}:{SEARCH_PORT}",
    ]
    argv = [
        sys.executable,
        "-m",
        "tests.netfault.faultproxy",
        *(x for m in maps for x in ("--map", m)),
        *args,
    ]
    proc = net.spawn(
        servers.node, argv, log_dir / "faultproxy.log", env=os.environ | {"PYTHONPATH": str(REPO)},
        stdout_pipe=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.put(raw.decode().strip())

    threading.Thread(target=read, daemon=True).start()
    proxy = Proxy(proc, lines)
    proxy.next_line("READY", 20)
    return proxy
