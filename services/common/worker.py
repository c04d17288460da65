"""A declared worker (``services.common.runner.Worker``) as a running faust app: the app and its settings, the
web endpoints (metrics, liveness, readiness), the one agent that feeds the runner, timers and tasks.

A worker is a faust app with one agent (``concurrency=1``) and no faust Tables: state, where a stage needs it,
lives in a store written idempotently (see README "Guarantees" for why). Offsets: faust acknowledges a batch's
messages only after ``Runner.run_batch`` returned, i.e. after every write of the batch was acknowledged, and
commits acknowledged offsets (``broker_commit_every``/``broker_commit_interval``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Mapping
from typing import Any

import faust
from aiohttp import web
from faust.types import EventT, StreamT

from services import __version__
from services.common import health, metrics
from services.common.lag import LagMonitor
from services.common.runner import Message, Runner, Runtime, TooManyFailures, Worker
from services.common.settings import Settings
from services.common.topics import Stage

log = logging.getLogger(__name__)


def _cap_fetch_wait(max_ms: int) -> None:
    """faust-streaming 0.15.3 creates its consumer with ``fetch_max_wait_ms=1500`` and no setting to change it.
    Cap it in this worker process (the aiokafka class faust instantiates is replaced by a thin subclass)."""
    import aiokafka

    base: Any = getattr(aiokafka, "_newsflow_original_consumer", aiokafka.AIOKafkaConsumer)
    base_producer: Any = getattr(aiokafka, "_newsflow_original_producer", aiokafka.AIOKafkaProducer)

    class CappedConsumer(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if "fetch_max_wait_ms" in kwargs:
                kwargs["fetch_max_wait_ms"] = min(int(kwargs["fetch_max_wait_ms"]), max_ms)
            super().__init__(*args, **kwargs)

        async def start(self) -> None:
            await _start_patiently(super().start, "consumer", lambda: self._fetcher is None)

    class PatientProducer(base_producer):  # type: ignore[misc]
        async def start(self) -> None:
            await _start_patiently(super().start, "producer", lambda: True)

    setattr(aiokafka, "_newsflow_original_consumer", base)  # noqa: B010 - a private attribute of ours
    setattr(aiokafka, "_newsflow_original_producer", base_producer)  # noqa: B010 - a private attribute of ours
    setattr(aiokafka, "AIOKafkaConsumer", CappedConsumer)  # noqa: B010 - replaced for faust, which reads it
    setattr(aiokafka, "AIOKafkaProducer", PatientProducer)  # noqa: B010 - replaced for faust, which reads it


START_PATIENCE_S = 60.0


async def _start_patiently(start: Any, what: str, restartable: Any) -> None:
    """aiokafka's start tries each bootstrap host once and raises when none answered: a connection reset at that
    moment would kill a starting worker. Try again (backoff up to 2 s) for ``START_PATIENCE_S``, only while the
    client is still in its not-started state (the failure came from the bootstrap, before anything was set up)."""
    from aiokafka.errors import KafkaConnectionError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_PATIENCE_S
    delay = 0.2
    while True:
        try:
            await start()
            return
        except KafkaConnectionError as exc:
            if not restartable() or loop.time() + delay > deadline:
                raise
            log.warning("kafka %s could not bootstrap, trying again in %.1f s: %s", what, delay, exc)
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)


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
        # Topics are created by `newsflow init` (or `newsflow topics`), never by a worker: a worker needs no
        # CreateTopics right, and its start does not depend on an admin round trip (a connection reset there
        # killed a starting worker). No leader election is used, so no leader topic either.
        topic_allow_declare=False,
        topic_disable_leader=True,
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
        ready = _ready(app)
        metrics.WORKER_READY.labels(stage).set(1 if ready else 0)
        return web.json_response({"stage": stage, "ready": ready}, status=200 if ready else 503)


class FaustProducer:
    """The runner's ``Producer`` on a faust app: raw bytes to full topic names."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self._topics: dict[str, faust.TopicT] = {}

    def _topic(self, name: str) -> faust.TopicT:
        if name not in self._topics:
            self._topics[name] = self.app.topic(
                name, value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw"
            )
        return self._topics[name]

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        partition: int | None = None,
        headers: Mapping[str, bytes] | None = None,
    ) -> Awaitable[Any]:
        fut: Awaitable[Any] = await self._topic(topic).send(
            key=key, value=value, partition=partition, headers=dict(headers) if headers else None
        )
        return fut

    async def partitions(self, topic: str) -> frozenset[int]:
        """The partitions the producer knows for this topic (its metadata, refreshed as the client refreshes
        it); empty when they cannot be had, and the caller falls back to the key hash."""
        try:
            producer = self.app.producer._ensure_producer()  # type: ignore[attr-defined]
            return frozenset(await producer.partitions_for(topic))
        except Exception as exc:  # metadata trouble must not stop the stream: key hashing still works
            log.warning("partitions of %s unknown, using the key hash: %s", topic, exc)
            return frozenset()


def message_of(event: EventT[Any]) -> Message:
    msg = event.message
    return Message(topic=msg.topic, partition=msg.partition, offset=msg.offset, value=msg.value, key=msg.key)


def serve(worker: Worker[Any], settings: Settings) -> faust.App:
    """The faust app that runs ``worker``: one agent over its source topics feeding the runner batch by batch."""
    app = make_app(worker.stage, settings)
    runtime = Runtime(worker.stage, settings, FaustProducer(app))
    runner = Runner(worker, runtime)
    metrics.BUILD.labels(worker.stage).info({"version": __version__})
    metrics.WORKER_READY.labels(worker.stage).set(0)
    source = app.topic(
        *(runtime.names.of(t) for t in worker.sources),
        value_type=bytes,
        key_type=bytes,
        value_serializer="raw",
        key_serializer="raw",
    )
    batch = worker.batch

    @app.agent(source, concurrency=1)
    async def run(stream: StreamT[Any]) -> None:
        try:
            async for events in stream.take_events(batch.max_items, within=batch.max_wait_s):  # type: ignore[attr-defined]
                await runner.run_batch([message_of(e) for e in events])
        except TooManyFailures:
            # Exit at once without committing this window: its messages are processed again after the fix; a
            # supervisor (compose, Kubernetes, `newsflow up`) restarts the worker.
            logging.shutdown()
            os._exit(3)
        except Exception:
            # A bug (the step raised something that is neither a value nor a dependency error): exit loudly,
            # without committing the batch, instead of leaving a live process whose agent no longer consumes.
            log.critical(
                "StepCrashed stage=%s: exiting (code 1), the batch is not committed",
                worker.stage,
                exc_info=True,
            )
            logging.shutdown()
            os._exit(1)

    for task in worker.tasks:
        app.task(_bound(task, runtime))
    for every, call in worker.timers:
        app.timer(every)(_guarded(call))

    async def report() -> None:
        _report(app, worker.stage)

    app.timer(5.0)(report)
    health.watch_broker(app, worker.stage, settings.kafka)  # newsflow_broker_up, reconnects
    lag = LagMonitor(settings.kafka)

    async def read_lag() -> None:
        await asyncio.to_thread(lag.update)  # kafka-python is blocking: off the loop

    app.timer(settings.kafka.lag_interval_s)(_guarded(read_lag))

    async def close(app_: faust.App, **kw: Any) -> None:
        for closer in worker.on_stop:
            await closer()
        await asyncio.to_thread(lag.close)

    app.on_before_shutdown.connect(close)  # type: ignore[arg-type]
    return app


def _bound(task: Any, runtime: Runtime) -> Any:
    async def run() -> None:
        await task(runtime)

    run.__name__ = getattr(task, "__name__", "task")
    return run


def _guarded(call: Any) -> Any:
    async def run() -> None:
        try:
            await call()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # housekeeping: the next run tries again
            log.warning("timer failed name=%s error=%s", getattr(call, "__name__", "timer"), exc)

    run.__name__ = getattr(call, "__name__", "timer")
    return run


def _ready(app: faust.App) -> bool:
    """Ready: partitions assigned, no rebalance under way, and the broker answering the probe (a worker cut off
    from the broker still holds its old assignment until it learns, after the heal, that it was evicted)."""
    watch = getattr(app, "_newsflow_broker_watch", None)
    broker_ok = watch is None or watch.up is not False
    return bool(app.consumer.assignment()) and not app.rebalancing and broker_ok


def _report(app: faust.App, stage: Stage) -> None:
    """Readiness and faust's monitor figures (lag is read from the broker: ``services.common.lag``)."""
    metrics.WORKER_READY.labels(stage).set(1 if _ready(app) else 0)
    monitor = app.monitor
    metrics.FAUST_REBALANCES.labels(stage).set(monitor.rebalances)
    metrics.FAUST_MESSAGES_ACTIVE.labels(stage).set(monitor.messages_active)
    recent = list(monitor.commit_latency)[-20:]
    metrics.FAUST_COMMIT_LATENCY.labels(stage).set(sum(recent) / len(recent) if recent else 0.0)
