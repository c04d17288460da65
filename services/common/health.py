"""Can this worker reach the broker? A cheap probe, run every few seconds beside the stream.

faust and aiokafka reconnect by themselves and say nothing an operator can graph while they retry; a partition
between a worker and the broker shows only as lag that stops moving. The probe makes it a series:
``newsflow_broker_up{stage}`` (1 while a Kafka ``ApiVersions`` request to a bootstrap broker is answered in
time, 0 while none is) and ``newsflow_broker_reconnects_total{stage}`` (times it was reached again after being
lost). Over TLS/SASL the probe is a TCP connect only (no handshake is attempted): reachability, not auth.

Wired by ``services.common.worker.serve`` with ``health.watch_broker(app, worker.stage, settings.kafka)``.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from services.common import metrics
from services.common.settings import KafkaSettings

log = logging.getLogger(__name__)

PROBE_EVERY_S = 5.0
PROBE_TIMEOUT_S = 3.0
_API_VERSIONS = 18
_CLIENT_ID = b"newsflow-probe"


def api_versions_request(correlation_id: int, client_id: bytes = _CLIENT_ID) -> bytes:
    """A Kafka ApiVersions v0 request (header v1: api key, version, correlation id, client id), size-prefixed."""
    body = struct.pack(">hhih", _API_VERSIONS, 0, correlation_id, len(client_id)) + client_id
    return struct.pack(">i", len(body)) + body


def answers(response_head: bytes, correlation_id: int) -> bool:
    """True when the first 8 bytes of a response are a size and our correlation id (the broker answered us)."""
    if len(response_head) < 8:
        return False
    size, corr = struct.unpack(">ii", response_head[:8])
    return int(size) >= 4 and int(corr) == correlation_id


def hosts_of(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for part in bootstrap.split(","):
        part = part.strip().removeprefix("kafka://")
        if not part:
            continue
        host, _, port = part.rpartition(":")
        out.append((host.strip("[]") or "localhost", int(port or 9092)))
    return out


async def broker_answers(
    host: str, port: int, timeout_s: float = PROBE_TIMEOUT_S, handshake: bool = True
) -> bool:
    """One probe of one broker: connect, and (``handshake``) send ApiVersions and read the answer's header."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            if not handshake:
                return True
            corr = 0x4E46  # "NF"
            writer.write(api_versions_request(corr))
            await writer.drain()
            return answers(await reader.readexactly(8), corr)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        return False
    finally:
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, TimeoutError):
                pass


Probe = Callable[[str, int, float, bool], Awaitable[bool]]


@dataclass
class BrokerWatch:
    """The state behind ``newsflow_broker_up``: up while any bootstrap broker answers."""

    stage: str
    kafka: KafkaSettings
    probe: Probe = broker_answers
    timeout_s: float = PROBE_TIMEOUT_S
    up: bool | None = field(default=None, init=False)

    async def check(self) -> bool:
        handshake = self.kafka.security_protocol == "PLAINTEXT"
        up = False
        for host, port in hosts_of(self.kafka.bootstrap or ""):
            if await self.probe(host, port, self.timeout_s, handshake):
                up = True
                break
        metrics.BROKER_UP.labels(self.stage).set(1 if up else 0)
        if up and self.up is False:
            metrics.BROKER_RECONNECTS.labels(self.stage).inc()
            log.warning("broker reachable again stage=%s bootstrap=%s", self.stage, self.kafka.bootstrap)
        elif not up and self.up is not False:
            log.warning(
                "broker unreachable stage=%s bootstrap=%s timeout_s=%.1f",
                self.stage,
                self.kafka.bootstrap,
                self.timeout_s,
            )
        self.up = up
        return up


def watch_broker(app: Any, stage: str, kafka: KafkaSettings, every_s: float = PROBE_EVERY_S) -> BrokerWatch:
    """Probe the broker every ``every_s`` from a faust app's timer (series exist at 0 until the first probe).
    Once per app: a second call returns the first watch."""
    existing = getattr(app, "_newsflow_broker_watch", None)
    if isinstance(existing, BrokerWatch):
        return existing
    watch = BrokerWatch(stage, kafka)
    setattr(app, "_newsflow_broker_watch", watch)  # noqa: B010 - our attribute on a foreign object
    metrics.BROKER_UP.labels(stage).set(0)
    metrics.BROKER_RECONNECTS.labels(stage)
    metrics.SEARCH_RECONNECTS.labels(stage)

    async def probe_broker() -> None:
        try:
            await watch.check()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a probe must never stop the worker
            log.warning("broker probe failed stage=%s error=%s", stage, exc)

    app.timer(every_s)(probe_broker)
    return watch
