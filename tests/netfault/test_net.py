"""The namespace fixtures themselves: they skip with a reason where namespaces are not permitted, leave nothing
behind (also after a failure, also after a killed run), and the broker probe behind newsflow_broker_up sees a
partition from inside a worker's namespace."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.netfault import net as netmod
from tests.netfault.net import Net, NetUnavailable, ip
from tests.netfault.stack import KAFKA_PORT, start_servers

pytestmark = [pytest.mark.netfault]


def _ours(n: Net) -> tuple[list[str], list[str]]:
    namespaces = [ln.split()[0] for ln in ip("netns", "list").stdout.splitlines() if n.base in ln]
    links = [ln for ln in ip("-o", "link").stdout.splitlines() if f"nf{n.run}" in ln]
    return namespaces, links


def test_without_root_the_probe_names_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netmod.os, "geteuid", lambda: 1000)
    with pytest.raises(NetUnavailable, match="need root"):
        netmod.probe()


def test_a_failing_test_leaves_no_namespace_link_qdisc_or_process(netns_ok: None, tmp_path: Path) -> None:
    n = Net().open()
    proc = None
    try:
        a, b = n.node("a"), n.node("b")
        n.shape(a, "500kbit")
        n.route(b, "blackhole", a.addr)
        n.cut(a)
        proc = n.spawn(b, ["sleep", "600"], tmp_path / "sleep.log")
        assert _ours(n)[0] and _ours(n)[1]
        raise RuntimeError("the test fails here")
    except RuntimeError:
        pass
    finally:
        n.close()
    assert _ours(n) == ([], [])
    assert proc is not None and proc.poll() is not None


def test_a_sweep_removes_what_a_killed_run_left(netns_ok: None) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = f"{netmod.NS_PREFIX}{dead.pid}-beef-hub"
    ip("netns", "add", name)
    try:
        assert name in netmod.sweep()
        assert name not in ip("netns", "list").stdout
    finally:
        ip("netns", "del", name, check=False)


def test_the_broker_probe_sees_a_partition_from_a_workers_namespace(net: Net, tmp_path: Path) -> None:
    servers = start_servers(net, tmp_path)
    worker = net.node("w")
    code = (
        "import asyncio, sys; from services.common.health import broker_answers; "
        f"print(asyncio.run(broker_answers({servers.broker_addr!r}, {KAFKA_PORT}, 5.0)))"
    )

    def probe() -> str:
        out = subprocess.run(
            [*worker.exec_prefix(), sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=REPO,
        )
        return out.stdout.strip() or out.stderr[-800:]

    assert probe() == "True", "the real broker answers ApiVersions v0"
    net.cut(worker)
    t0 = time.monotonic()
    assert probe() == "False"
    assert time.monotonic() - t0 < 15, "a silent partition is reported within the probe's timeout"
    net.heal(worker)
    assert probe() == "True"
