"""The broker probe behind newsflow_broker_up: answered, silent, refused; reconnects counted once per heal."""

from __future__ import annotations

import asyncio
import struct

from services.common import metrics
from services.common.health import BrokerWatch, answers, api_versions_request, broker_answers, hosts_of
from services.common.settings import KafkaSettings


def test_the_request_is_an_api_versions_v0_with_our_correlation_id() -> None:
    req = api_versions_request(7)
    size, key, version, corr = struct.unpack(">ihhi", req[:12])
    assert (size, key, version, corr) == (len(req) - 4, 18, 0, 7)
    assert answers(struct.pack(">ii", 6, 7) + b"\0\0", 7)
    assert not answers(struct.pack(">ii", 6, 8), 7)
    assert not answers(b"\0\0", 7)


def test_bootstrap_lists_are_split_into_hosts() -> None:
    assert hosts_of("a:1, kafka://b:2,,[::1]:3") == [("a", 1), ("b", 2), ("::1", 3)]


async def _server(respond: bool) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readexactly(4)
        body = await reader.readexactly(struct.unpack(">i", head)[0])
        if respond:
            corr = struct.unpack(">i", body[4:8])[0]
            writer.write(struct.pack(">iih", 6, corr, 0))
            await writer.drain()
        else:
            await asyncio.sleep(5)
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_a_broker_that_answers_is_up_one_that_is_silent_or_refuses_is_down() -> None:
    async def run() -> tuple[bool, bool, bool]:
        good, silent = await _server(True), await _server(False)
        gp = good.sockets[0].getsockname()[1]
        sp = silent.sockets[0].getsockname()[1]
        refused_port = sp + 1 if sp < 65535 else sp - 1
        try:
            return (
                await broker_answers("127.0.0.1", gp, 2.0),
                await broker_answers("127.0.0.1", sp, 0.5),
                await broker_answers("127.0.0.1", refused_port, 0.5),
            )
        finally:
            good.close()
            silent.close()

    up, silent, refused = asyncio.run(run())
    assert up and not silent and not refused


def test_the_gauge_follows_the_probe_and_each_heal_counts_one_reconnect() -> None:
    outcomes = iter([True, False, False, True, True, False, True])

    async def fake(host: str, port: int, timeout_s: float, handshake: bool) -> bool:
        return next(outcomes)

    watch = BrokerWatch("unit-health", KafkaSettings(bootstrap="b:9092"), probe=fake)
    seen = []

    async def run() -> None:
        for _ in range(7):
            await watch.check()
            seen.append(metrics.BROKER_UP.labels("unit-health")._value.get())

    asyncio.run(run())
    assert seen == [1, 0, 0, 1, 1, 0, 1]
    assert metrics.BROKER_RECONNECTS.labels("unit-health")._value.get() == 2


def test_watch_broker_registers_one_timer_and_a_failing_probe_never_raises() -> None:
    from services.common.health import watch_broker

    class App:
        def __init__(self) -> None:
            self.timers: list[tuple[float, object]] = []

        def timer(self, every: float) -> object:
            def register(fn: object) -> object:
                self.timers.append((every, fn))
                return fn

            return register

    app = App()
    watch = watch_broker(app, "unit-watch", KafkaSettings(bootstrap="127.0.0.1:1"), every_s=5.0)
    assert metrics.BROKER_UP.labels("unit-watch")._value.get() == 0
    assert watch_broker(app, "unit-watch", KafkaSettings(bootstrap="127.0.0.1:1")) is watch, "once per app"
    [(every, fn)] = app.timers
    assert every == 5.0

    async def broken(host: str, port: int, timeout_s: float, handshake: bool) -> bool:
        raise RuntimeError("probe bug")

    watch.probe = broken
    asyncio.run(fn())  # type: ignore[operator]
    assert metrics.BROKER_UP.labels("unit-watch")._value.get() == 0
