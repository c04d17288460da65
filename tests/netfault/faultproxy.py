"""A TCP fault proxy to run inside a namespace (``ip netns exec NS python -m tests.netfault.faultproxy``): what
netem would do and this kernel cannot — latency with jitter, connection resets — plus one fault netem cannot
aim: withholding the response of a chosen HTTP bulk request after the server applied it.

    python -m tests.netfault.faultproxy --map 198.18.7.12:9092=198.18.7.10:9092 \
        [--latency-ms 20 --jitter-ms 15] [--reset-every-s 5 --spare 198.18.7.1] \
        [--hold _bulk --hold if_seq_no --hold-s 8]

Each ``--map LISTEN=UPSTREAM`` is one listener. Latency: every chunk is delayed by latency ± jitter in each
direction, order kept. Resets: every ``reset-every-s`` one open connection (not from a ``--spare`` peer) is
aborted with an RST on both sides. Hold: each ``--hold SUBSTRING`` withholds the response to the next request
(on any connection) whose bytes contain ``/_bulk`` and SUBSTRING; the proxy prints ``HELD <n>`` when that response
has fully arrived from the server (the request is applied), keeps it, and ``hold-s`` later resets the client.
Prints ``READY`` once listening; ``STATS resets=<n> held=<n>`` on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    latency_s: float = 0.0
    jitter_s: float = 0.0
    reset_every_s: float = 0.0
    spare: frozenset[str] = frozenset()
    holds: list[bytes] = field(default_factory=list)
    hold_s: float = 8.0
    resets: int = 0
    held: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(18))

    def delay(self) -> float:
        if not self.latency_s and not self.jitter_s:
            return 0.0
        return max(0.0, self.latency_s + self.rng.uniform(-self.jitter_s, self.jitter_s))


def rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class Conn:
    def __init__(
        self, faults: Faults, cr: asyncio.StreamReader, cw: asyncio.StreamWriter, upstream: tuple[str, int]
    ) -> None:
        self.f = faults
        self.cr, self.cw = cr, cw
        self.upstream = upstream
        self.peer = str((cw.get_extra_info("peername") or ("?",))[0])
        self.request = bytearray()  # client bytes since the last response began
        self.holding = False
        self.closed = asyncio.Event()
        self.uw: asyncio.StreamWriter | None = None
        self.hold_task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            ur, self.uw = await asyncio.open_connection(*self.upstream)
        except OSError:
            rst(self.cw)
            return
        tasks = [
            asyncio.create_task(self.pump(self.cr, self.uw, upstream=True)),
            asyncio.create_task(self.pump(ur, self.cw, upstream=False)),
        ]
        await self.closed.wait()
        for t in tasks:
            t.cancel()
        self.abort()

    def abort(self) -> None:
        for w in (self.cw, self.uw):
            if w is not None:
                rst(w)
        self.closed.set()

    async def pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, upstream: bool) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.create_task(self.send(queue, w))
        last_due = 0.0
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                if upstream:
                    if self.request and self.request_answered:
                        self.request.clear()
                        self.request_answered = False
                    self.request += data[: 1 << 20]
                else:
                    self.request_answered = True
                    if not self.holding and self.request and b"/_bulk" in self.request[:512]:
                        for i, needle in enumerate(self.f.holds):
                            if needle in self.request:
                                del self.f.holds[i]
                                self.holding = True
                                self.hold_task = asyncio.create_task(self.hold())
                                break
                    if self.holding:
                        continue  # the server applied the request; its answer is withheld
                due = max(last_due, time.monotonic() + self.f.delay())
                last_due = due
                queue.put_nowait((due, data))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            await queue.put((0.0, b""))
            try:
                await sender
            finally:
                self.closed.set()

    request_answered = False

    async def hold(self) -> None:
        # The response arrives in one or more reads; announce once the server is done with it.
        await asyncio.sleep(0.3)
        self.f.held += 1
        print(f"HELD {self.f.held}", flush=True)
        await asyncio.sleep(self.f.hold_s)
        self.abort()

    async def send(self, queue: asyncio.Queue[tuple[float, bytes]], w: asyncio.StreamWriter) -> None:
        while True:
            due, data = await queue.get()
            if not data:
                return
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                w.write(data)
                await w.drain()
            except OSError:
                return


async def main(maps: list[tuple[tuple[str, int], tuple[str, int]]], f: Faults) -> None:
    conns: set[Conn] = set()

    async def serve(listen: tuple[str, int], upstream: tuple[str, int]) -> asyncio.Server:
        async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
            c = Conn(f, cr, cw, upstream)
            conns.add(c)
            try:
                await c.run()
            except asyncio.CancelledError:  # the proxy stops: its connections go with it
                c.abort()
            finally:
                conns.discard(c)

        return await asyncio.start_server(handle, *listen, reuse_address=True)

    servers = [await serve(lst, up) for lst, up in maps]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("READY", flush=True)

    async def resets() -> None:
        while f.reset_every_s > 0:
            await asyncio.sleep(f.reset_every_s)
            victims = [c for c in conns if c.peer not in f.spare and not c.closed.is_set()]
            if victims:
                f.rng.choice(victims).abort()
                f.resets += 1

    task = asyncio.create_task(resets())
    await stop.wait()
    task.cancel()
    for s in servers:
        s.close()
    print(f"STATS resets={f.resets} held={f.held}", flush=True)


def _addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--map", action="append", required=True, help="LISTEN_HOST:PORT=UPSTREAM_HOST:PORT")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--jitter-ms", type=float, default=0.0)
    ap.add_argument("--reset-every-s", type=float, default=0.0)
    ap.add_argument("--spare", action="append", default=[], help="peer address never reset")
    ap.add_argument(
        "--hold", action="append", default=[], help="withhold the answer to a bulk containing this"
    )
    ap.add_argument("--hold-s", type=float, default=8.0)
    a = ap.parse_args(argv)
    maps = [(_addr(m.split("=", 1)[0]), _addr(m.split("=", 1)[1])) for m in a.map]
    f = Faults(
        latency_s=a.latency_ms / 1000,
        jitter_s=a.jitter_ms / 1000,
        reset_every_s=a.reset_every_s,
        spare=frozenset(a.spare),
        holds=[h.encode() for h in a.hold],
        hold_s=a.hold_s,
    )
    asyncio.run(main(maps, f))


if __name__ == "__main__":
    cli(sys.argv[1:])
