"""Network namespaces for fault tests: a hub namespace with a bridge, one namespace per node (servers, each
worker), each joined to the hub by a veth pair, and the test process joined to it by a veth of its own.

Only addresses of the benchmarking range 198.18.0.0/15 are used, one /24 per run (198.18.N.0/24), and only on
links made here. Every name made here starts with ``nfault-<pid>-<run>`` (namespaces) or ``nf<run>`` (the one
link in the test process's namespace), so a sweep can remove what a killed run left behind: a namespace whose
owning pid is gone.

Faults: ``cut(node)`` sets the hub side of the node's veth down (the node drops off the network: packets are
silently lost), ``route(node, kind, address)`` adds a ``blackhole`` (silent drop) or ``prohibit`` (immediate
error) route inside the node, ``shape(node, rate)`` puts a ``tbf`` rate limit on both directions of its link.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

NS_PREFIX = "nfault-"
_OWNED = re.compile(r"^nfault-(\d+)-([0-9a-f]{4})-")


class NetUnavailable(Exception):
    """Namespaces cannot be made here (not root, no ``ip``, or the kernel refuses)."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def tc(*args: str) -> None:
    subprocess.run(["tc", *args], capture_output=True, text=True, check=True, timeout=20)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep() -> list[str]:
    """Delete namespaces left by runs whose process is gone (killed before its finalizers ran)."""
    removed = []
    out = ip("netns", "list", check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = _OWNED.match(name)
        if m and not _alive(int(m.group(1))):
            _kill_in_ns(name)
            ip("netns", "del", name, check=False)
            removed.append(name)
    return removed


def _kill_in_ns(ns: str) -> None:
    """SIGKILL what still runs in a namespace of ours (``ip netns pids``), so deleting it frees it."""
    out = ip("netns", "pids", ns, check=False).stdout
    for tok in out.split():
        try:
            os.kill(int(tok), signal.SIGKILL)
        except (ValueError, ProcessLookupError):
            pass


def probe() -> None:
    """Raise ``NetUnavailable`` with the reason when namespaces and veth pairs cannot be made."""
    if os.geteuid() != 0:
        raise NetUnavailable(f"network namespaces need root (the tests run as uid {os.geteuid()})")
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            raise NetUnavailable(f"`{tool}` (iproute2) is not installed")
    name = f"{NS_PREFIX}{os.getpid()}-0000-probe"
    r = ip("netns", "add", name, check=False)
    if r.returncode != 0:
        raise NetUnavailable(f"`ip netns add` is not permitted here: {r.stderr.strip()}")
    try:
        r = ip("-n", name, "link", "add", "p0", "type", "veth", "peer", "name", "p1", check=False)
        if r.returncode != 0:
            raise NetUnavailable(f"veth pairs cannot be made here: {r.stderr.strip()}")
    finally:
        ip("netns", "del", name, check=False)


@dataclass
class Node:
    name: str
    ns: str
    addrs: list[str]
    hub_if: str

    @property
    def addr(self) -> str:
        return self.addrs[0]

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.ns]


@dataclass
class Net:
    """The namespaces of one test; ``close()`` removes all of them (and so every link and qdisc on them)."""

    run: str = field(default_factory=lambda: secrets.token_hex(2))
    subnet: int = field(default_factory=lambda: 1 + secrets.randbelow(254))
    nodes: dict[str, Node] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _next_host: int = 10
    _made: list[str] = field(default_factory=list)
    host_addr: str = ""

    @property
    def base(self) -> str:
        return f"{NS_PREFIX}{os.getpid()}-{self.run}"

    @property
    def hub(self) -> str:
        return f"{self.base}-hub"

    def a(self, host: int) -> str:
        return f"198.18.{self.subnet}.{host}"

    def _add_ns(self, ns: str) -> None:
        ip("netns", "add", ns)
        self._made.append(ns)
        ip("-n", ns, "link", "set", "lo", "up")

    def open(self) -> Net:
        """The hub (a bridge) and the test process's own link to it (198.18.N.1)."""
        self._add_ns(self.hub)
        ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", self.hub, "link", "set", "br0", "up")
        mine, peer = f"nf{self.run}r", f"nf{self.run}rp"
        ip("link", "add", mine, "type", "veth", "peer", "name", peer)
        ip("link", "set", peer, "netns", self.hub)
        ip("-n", self.hub, "link", "set", peer, "master", "br0", "up")
        self.host_addr = self.a(1)
        ip("addr", "add", f"{self.host_addr}/24", "dev", mine)
        ip("link", "set", mine, "up")
        return self

    def node(self, name: str, n_addrs: int = 1) -> Node:
        """A namespace joined to the hub, with ``n_addrs`` addresses of its own on its link."""
        ns = f"{self.base}-{name}"
        self._add_ns(ns)
        idx = len(self.nodes)
        inner, outer = f"nf{self.run}{idx}i", f"nf{self.run}{idx}h"
        ip("link", "add", inner, "type", "veth", "peer", "name", outer)
        ip("link", "set", inner, "netns", ns)
        ip("link", "set", outer, "netns", self.hub)
        ip("-n", ns, "link", "set", inner, "name", "eth0")
        addrs = []
        for _ in range(n_addrs):
            addr = self.a(self._next_host)
            self._next_host += 1
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            addrs.append(addr)
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", self.hub, "link", "set", outer, "master", "br0", "up")
        node = Node(name, ns, addrs, outer)
        self.nodes[name] = node
        return node

    # --- faults -------------------------------------------------------------------------------------------
    def cut(self, node: Node) -> None:
        """The node drops off the network (its link's hub side down: every packet to or from it is lost)."""
        ip("-n", self.hub, "link", "set", node.hub_if, "down")

    def heal(self, node: Node) -> None:
        ip("-n", self.hub, "link", "set", node.hub_if, "up")

    def route(self, node: Node, kind: str, address: str) -> None:
        """A ``blackhole`` (silent drop) or ``prohibit`` (immediate error) route to ``address`` in ``node``."""
        ip("-n", node.ns, "route", "add", kind, f"{address}/32")

    def unroute(self, node: Node, kind: str, address: str) -> None:
        ip("-n", node.ns, "route", "del", kind, f"{address}/32")

    def shape(self, node: Node, rate: str, burst: str = "16kbit", latency: str = "500ms") -> None:
        """A tbf rate limit on both directions of the node's link (egress of each side)."""
        tc("-n", node.ns, "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", rate, "burst", burst,
           "latency", latency)  # fmt: skip
        tc("-n", self.hub, "qdisc", "add", "dev", node.hub_if, "root", "tbf", "rate", rate, "burst", burst,
           "latency", latency)  # fmt: skip

    # --- processes ----------------------------------------------------------------------------------------
    def spawn(
        self,
        node: Node,
        argv: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        stdout_pipe: bool = False,
    ) -> subprocess.Popen[bytes]:
        out = log_path.open("ab")
        proc = subprocess.Popen(
            [*node.exec_prefix(), *argv],
            env=env,
            stdout=subprocess.PIPE if stdout_pipe else out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        """Stop every process started here, then delete every namespace (their links and qdiscs go with
        them; the test process's link goes with its peer in the hub)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for ns in reversed(self._made):
            _kill_in_ns(ns)
            ip("netns", "del", ns, check=False)
        ip("link", "del", f"nf{self.run}r", check=False)
        self._made.clear()
