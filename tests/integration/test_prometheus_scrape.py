"""A real Prometheus (Debian's binary) scrapes Newsflow metrics and loads the shipped alert rules.

The target is, for now, a prometheus_client server in this process exposing ``services.common.metrics.REGISTRY``
(what every worker serves on /metrics); ``metrics_target`` is the one fixture to point at a worker of an
embedded run instead.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from prometheus_client import start_http_server

from services.common import metrics
from services.ops.embedded import Stack, free_port
from tests.conftest import SEEDS
from tests.harness import make_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
WAIT_S = 30.0
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float = WAIT_S) -> T:
    """Poll ``probe`` until it returns something other than None; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except OSError as exc:  # connection refused while starting, and the like
            last_error = exc
            result = None
        if result is not None:
            return result
        time.sleep(0.5)
    pytest.fail(f"{what}: not after {timeout_s:.0f} s (last error: {last_error})")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


class Prometheus:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def query(self, promql: str) -> list[dict[str, Any]]:
        answer = get_json(f"{self.base_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def value(self, promql: str) -> float | None:
        """The value of a query that selects one series, or None while it selects none."""
        result = self.query(promql)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None


@pytest.fixture
def metrics_target() -> Iterator[str]:
    """host:port of a /metrics endpoint serving the Newsflow metrics registry."""
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=metrics.REGISTRY)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def run_prometheus(tmp_path: Path, targets: Mapping[str, str]) -> Iterator[Prometheus]:
    """A real Prometheus scraping ``targets`` (service label -> host:port) every second, with the shipped rules."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip(
            "prometheus not found: run scripts/install_prometheus.sh (installs Debian's prometheus package)"
        )
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {
                "job_name": "newsflow",
                "static_configs": [
                    {"targets": [target], "labels": {"service": service}}
                    for service, target in targets.items()
                ],
            }
        ],
    }
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log_path = tmp_path / "prometheus.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool | None:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            with urllib.request.urlopen(f"{base_url}/-/ready", timeout=2) as resp:
                return True if resp.status == 200 else None

        wait_for("prometheus ready", ready)
        yield Prometheus(base_url)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def prometheus(tmp_path: Path, metrics_target: str) -> Iterator[Prometheus]:
    with run_prometheus(tmp_path, {"ingest": metrics_target}) as prom:
        yield prom


def test_prometheus_scrapes_the_worker_metrics_and_sees_a_counter_move(prometheus: Prometheus) -> None:
    ok = metrics.MESSAGES.labels(stage="ingest", outcome="ok")
    ok.inc(3)
    series = 'newsflow_messages_total{job="newsflow", stage="ingest", outcome="ok"}'

    up = wait_for("target up", lambda: prometheus.value('up{job="newsflow", service="ingest"}'))
    assert up == 1.0
    before = wait_for("first sample of the counter", lambda: prometheus.value(series))
    assert before >= 3

    ok.inc(5)
    after = wait_for(
        "the counter moved by 5",
        lambda: v if (v := prometheus.value(series)) is not None and v >= before + 5 else None,
    )
    assert after == before + 5


def test_prometheus_loads_and_evaluates_every_shipped_alert_rule(prometheus: Prometheus) -> None:
    shipped = {
        r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"] if "alert" in r
    }

    def evaluated() -> list[dict[str, Any]] | None:
        rules = [
            r for g in get_json(f"{prometheus.base_url}/api/v1/rules")["data"]["groups"] for r in g["rules"]
        ]
        return rules if rules and all(r["health"] != "unknown" for r in rules) else None

    rules = wait_for("every rule evaluated once", evaluated)
    assert {r["name"] for r in rules if r["type"] == "alerting"} == shipped
    failing = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not failing, failing


def test_prometheus_sees_every_worker_of_an_embedded_run_up_and_its_counters_move(
    stack: Stack, tmp_path: Path
) -> None:
    pipeline = make_pipeline(stack, tmp_path).start()
    try:
        targets: dict[str, str] = {w.stage: f"127.0.0.1:{w.port}" for w in pipeline.running.workers}
        with run_prometheus(tmp_path, targets) as prom:
            pipeline.send_paths(SEEDS)
            pipeline.wait()
            for stage in targets:

                def up(s: str = stage) -> float | None:
                    return prom.value(f'up{{service="{s}"}}')

                assert wait_for(f"{stage} up", up) == 1.0

                def moved(s: str = stage) -> float | None:
                    v = prom.value(
                        f'sum(newsflow_messages_total{{service="{s}", stage="{s}", outcome=~"ok|duplicate"}})'
                    )
                    return v if v is not None and v > 0 else None

                assert wait_for(f"{stage} counted messages", moved) >= 1
            docs = wait_for(
                "freshness observed",
                lambda: prom.value('sum(newsflow_freshness_seconds_count{service="index"})') or None,
            )
            assert docs >= 1
    finally:
        pipeline.stop()
