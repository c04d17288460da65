"""What every stream worker shares: the faust app, its web endpoints, dead letters and the failure guard.

A worker is a faust app with one agent (``concurrency=1``) and no faust Tables: state, where a stage needs it,
lives in a store written idempotently (see README "Guarantees" for why).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from typing import Any

import faust
from aiohttp import web
from faust.types import EventT

from services.common import metrics
from services.common.records import DeadLetter, Origin, R, Rejected, Stage, Trace, decode
from services.common.settings import Settings
from services.common.topics import TopicNames, names

log = logging.getLogger(__name__)


class TooManyFailures(RuntimeError):
    """Most messages of a window failed: stop the worker instead of draining everything to the DLQ."""


def _cap_fetch_wait(max_ms: int) -> None:
    """faust-streaming 0.15.3 creates its consumer with ``fetch_max_wait_ms=1500`` and no setting to change it.
    Cap it in this worker process (the aiokafka class faust instantiates is replaced by a thin subclass)."""
    import aiokafka

    base = getattr(aiokafka, "_newsflow_original_consumer", aiokafka.AIOKafkaConsumer)

    class CappedConsumer(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if "fetch_max_wait_ms" in kwargs:
                kwargs["fetch_max_wait_ms"] = min(int(kwargs["fetch_max_wait_ms"]), max_ms)
            super().__init__(*args, **kwargs)

    aiokafka._newsflow_original_consumer = base  # type: ignore[attr-defined]
    aiokafka.AIOKafkaConsumer = CappedConsumer  # type: ignore[misc]


def make_app(stage: Stage, settings: Settings) -> faust.App:
    k = settings.kafka
    _cap_fetch_wait(k.fetch_max_wait_ms)
    if not k.bootstrap:
        raise RuntimeError("NEWSFLOW_KAFKA__BOOTSTRAP is not set (run `newsflow up` for the embedded stack)")
    kw: dict[str, Any] = {}
    if k.sasl_mechanism:
        import ssl

        ctx = ssl.create_default_context(cafile=k.ssl_cafile) if k.security_protocol.endswith("SSL") else None
        kw["broker_credentials"] = faust.SASLCredentials(
            username=k.sasl_username or "",
            password=k.sasl_password.get_secret_value() if k.sasl_password else "",
            mechanism=k.sasl_mechanism,
            ssl_context=ctx,
        )
    elif k.security_protocol == "SSL":
        import ssl

        kw["broker_credentials"] = ssl.create_default_context(cafile=k.ssl_cafile)
    app = faust.App(
        # One consumer group per stage and deployment: the topic prefix names the deployment.
        f"{k.topic_prefix}-{stage}",
        broker=[f"kafka://{h}" for h in k.bootstrap.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        web_enabled=True,
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        broker_session_timeout=k.session_timeout_s,
        broker_heartbeat_interval=k.heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        producer_max_request_size=k.max_message_bytes + 65536,
        producer_acks=-1,
        topic_partitions=k.partitions,
        topic_replication_factor=k.replication_factor,
        topic_allow_declare=True,
        stream_wait_empty=True,
        broker_commit_every=100,
        broker_commit_interval=1.0,
        datadir=f"{settings.data_dir}/faust-{stage}",
        **kw,
    )
    _add_web(app, stage)
    return app


def _add_web(app: faust.App, stage: str) -> None:
    @app.page("/metrics")
    async def metrics_view(web_: Any, request: Any) -> Any:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    @app.page("/livez")
    async def livez(web_: Any, request: Any) -> Any:
        return web.json_response({"stage": stage, "alive": True})

    @app.page("/readyz")
    async def readyz(web_: Any, request: Any) -> Any:
        ready = bool(app.consumer.assignment()) and not app.rebalancing
        metrics.WORKER_READY.labels(stage).set(1 if ready else 0)
        return web.json_response({"stage": stage, "ready": ready}, status=200 if ready else 503)


def origin_of(event: EventT) -> Origin:
    msg = event.message
    return Origin(topic=msg.topic, partition=msg.partition, offset=msg.offset)


class Stream:
    """The glue of one stage: topic handles, dead letters, outcome counters, the failure guard and lag."""

    def __init__(self, app: faust.App, stage: Stage, settings: Settings, *, guard: bool = True) -> None:
        """``guard``: stop when most messages fail. Off for ingest, where bad input is the user's, not a sign
        of a bad deploy; every later stage reads what our own upstream wrote, so mass failure there is a bug."""
        self.app = app
        self.guard = guard
        self.stage = stage
        self.settings = settings
        self.names: TopicNames = names(settings.kafka.topic_prefix)
        self._topics: dict[str, faust.TopicT] = {}
        self._window: deque[bool] = deque(maxlen=settings.dlq_window)
        self._last_offset: dict[tuple[str, int], int] = {}
        self._lag_series: set[tuple[str, str]] = set()
        # Series exist from the start at 0, so the first failure is a visible increase, not a new series at 1.
        for outcome in metrics.OUTCOMES:
            metrics.MESSAGES.labels(stage, outcome)
        metrics.PROCESSING_SECONDS.labels(stage)
        metrics.WORKER_READY.labels(stage).set(0)

    def topic(self, logical: str) -> faust.TopicT:
        if logical not in self._topics:
            self._topics[logical] = self.app.topic(
                getattr(self.names, logical),
                value_type=bytes,
                key_type=bytes,
                value_serializer="raw",
                key_serializer="raw",
            )
        return self._topics[logical]

    async def send(self, logical: str, key: str, value: bytes, partition: int | None = None) -> None:
        await self.topic(logical).send(key=key.encode(), value=value, partition=partition)

    async def partitions(self, logical: str) -> frozenset[int]:
        """The partitions the producer knows for this topic (its metadata, refreshed as the client refreshes it);
        empty when they cannot be had, and the caller falls back to the key hash."""
        try:
            producer = self.app.producer._ensure_producer()  # type: ignore[attr-defined]
            return frozenset(await producer.partitions_for(getattr(self.names, logical)))
        except Exception as exc:  # metadata trouble must not stop the stream: key hashing still works
            log.warning("partitions of %s unknown, using the key hash: %s", logical, exc)
            return frozenset()

    def seen(self, event: EventT) -> None:
        msg = event.message
        self._last_offset[(msg.topic, msg.partition)] = msg.offset

    def outcome(self, ok: bool, outcome: str, n: int = 1) -> None:
        metrics.MESSAGES.labels(self.stage, outcome).inc(n)
        for _ in range(n):
            self._window.append(ok)
        if self.guard and len(self._window) == self._window.maxlen:
            failed = self._window.count(False)
            if failed / len(self._window) > self.settings.dlq_max_failure_ratio:
                self.stop_on_failures(failed)

    def stop_on_failures(self, failed: int) -> None:
        """Exit at once (code 3) without committing: a bad deploy or a broken dependency, not bad data. The
        window's messages are processed again after the fix; a supervisor (compose) restarts the worker."""
        log.critical(
            "%d of the last %d messages failed at stage %s: stopping instead of dead-lettering everything "
            "(bad deploy or broken dependency?)",
            failed,
            len(self._window),
            self.stage,
        )
        logging.shutdown()
        os._exit(3)

    async def decode_batch(self, events: list[EventT], model: type[R]) -> list[tuple[EventT, R]]:
        """The batch's records of type ``model`` with their events; what does not decode is dead-lettered."""
        good: list[tuple[EventT, R]] = []
        for event in events:
            self.seen(event)
            rec = decode(model, event.value)
            if isinstance(rec, Rejected):
                await self.dead_letter(event, rec)
            else:
                good.append((event, rec))
        return good

    async def dead_letter(self, event: EventT | None, rejected: Rejected, trace: Trace | None = None) -> None:
        payload = b""
        origin = None
        if event is not None:
            origin = origin_of(event)
            payload = event.message.value or b""
        cap = self.settings.dlq_max_payload_bytes
        dl = DeadLetter(
            stage=self.stage,
            reason=rejected.reason,
            detail=rejected.detail,
            origin=origin,
            trace=rejected.trace or trace,
            payload=payload[:cap].decode("utf-8", errors="replace"),
            payload_truncated=len(payload) > cap,
            payload_bytes=len(payload),
        )
        headers = {"stage": self.stage.encode(), "reason": rejected.reason.encode()}
        if origin is not None:
            headers.update(
                {
                    "origin_topic": origin.topic.encode(),
                    "origin_partition": str(origin.partition).encode(),
                    "origin_offset": str(origin.offset).encode(),
                }
            )
        key = (dl.trace.ingest_id if dl.trace else "").encode() or None
        await self.topic("deadletter").send(key=key, value=dl.to_json(), headers=headers)
        metrics.DEAD_LETTERS.labels(self.stage, rejected.reason).inc()
        log.warning(
            "dead-lettered stage=%s reason=%s topic=%s partition=%s offset=%s source=%s",
            self.stage,
            rejected.reason,
            origin.topic if origin else "-",
            origin.partition if origin else "-",
            origin.offset if origin else "-",
            dl.trace.source if dl.trace else "-",
        )
        self.outcome(False, "dead_letter")

    def update_lag(self) -> None:
        """Lag per assigned partition (series of partitions this worker lost are removed) and readiness."""
        consumer = self.app.consumer
        assigned = consumer.assignment()
        metrics.WORKER_READY.labels(self.stage).set(1 if assigned and not self.app.rebalancing else 0)
        current: set[tuple[str, str]] = set()
        for tp in assigned:
            hw = consumer.highwater(tp)
            if hw is None:
                continue
            last = self._last_offset.get((tp.topic, tp.partition), -1)
            labels = (tp.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(max(0, hw - last - 1))
            current.add(labels)
        for stale in self._lag_series - current:
            try:
                metrics.CONSUMER_LAG.remove(*stale)
            except KeyError:
                pass
        self._lag_series = current
        monitor = self.app.monitor
        metrics.FAUST_REBALANCES.labels(self.stage).set(monitor.rebalances)
        metrics.FAUST_MESSAGES_ACTIVE.labels(self.stage).set(monitor.messages_active)
        recent = list(monitor.commit_latency)[-20:]
        metrics.FAUST_COMMIT_LATENCY.labels(self.stage).set(sum(recent) / len(recent) if recent else 0.0)

    def timed(self) -> _Timer:
        return _Timer(self.stage)


class _Timer:
    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.t0 = 0.0

    def __enter__(self) -> _Timer:
        self.t0 = time.perf_counter()
        return self

    def per_message(self, n: int) -> None:
        if n:
            elapsed = (time.perf_counter() - self.t0) / n
            hist = metrics.PROCESSING_SECONDS.labels(self.stage)
            for _ in range(n):
                hist.observe(elapsed)

    def __exit__(self, *exc: object) -> None:
        return None
