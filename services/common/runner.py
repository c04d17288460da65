"""The step runner: what every stream worker does around its pure step, written once.

A worker declares *what* it does (``Worker``: source topics and their record types, a step, where each kind of
result goes, a batch policy); the runner does the rest, for one batch of messages at a time:

1. decode each message into its topic's record type; what does not decode is dead-lettered at once;
2. call the step on the decoded records, retrying it as a whole on errors a dependency reports
   (``Unavailable``: wait as long as it takes, consumption pauses; ``Transient``: ``retry.attempts`` tries with
   backoff, then every record of the batch is dead-lettered); any other exception is a bug and propagates;
3. route each result: a record to the topic its ``Route`` names, a ``Rejected`` to the dead-letter topic with
   the message's origin and the record's trace;
4. wait until the broker acknowledged every send of the batch (results and dead letters) and only then return:
   the caller acknowledges the messages after that, so an offset is never committed past a write that did not
   go through;
5. count outcomes, time the batch, and stop the worker (``TooManyFailures``) when most recent messages failed.

The runner knows nothing of faust: ``services.common.worker`` feeds it batches from a faust stream and gives it a
producer; the unit tests feed it lists and a fake producer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from services.common import metrics
from services.common.records import DeadLetter, Origin, Record, Rejected, Trace, decode
from services.common.settings import RetrySettings, Settings
from services.common.topics import Logical, Stage, TopicNames, names

log = logging.getLogger(__name__)

In = TypeVar("In", bound=Record)
Out = TypeVar("Out", bound=Record)
Outcome = Literal["ok", "duplicate"]

StepResult = Sequence[Record | Rejected]
"""What the step made of one input record: zero or more records and rejections (ingest turns one input into
several articles; most steps give exactly one)."""

Step = Callable[[Sequence[In]], Awaitable[Sequence[StepResult]]]
"""A worker's step: the batch's records in, one ``StepResult`` per record out, in the same order."""


class Unavailable(Exception):
    """A dependency cannot be reached: the runner waits for it (the batch is retried until it answers)."""

    def __init__(self, dependency: Literal["search"], detail: str) -> None:
        super().__init__(f"{dependency} unavailable: {detail}")
        self.dependency = dependency
        self.detail = detail


class Transient(Exception):
    """A dependency refused a request for now (429, 5xx): retried a bounded number of times, then the batch's
    records are dead-lettered with reason ``retries-exhausted``."""

    def __init__(self, dependency: Literal["search"], detail: str) -> None:
        super().__init__(f"{dependency} refused: {detail}")
        self.dependency = dependency
        self.detail = detail


class TooManyFailures(RuntimeError):
    """Most messages of the last window failed: a bad deploy or a broken dependency, not bad data. The worker
    stops (exit code 3) without committing, instead of draining everything into the dead-letter topic."""


@dataclass(frozen=True)
class Batch:
    """How many messages the runner takes at most, and how long it waits for more after the first."""

    max_items: int
    max_wait_s: float


@dataclass(frozen=True)
class Route(Generic[Out]):
    """Where results of one record type go."""

    topic: Logical
    key: Callable[[Out], str]
    outcome: Outcome = "ok"
    partition: Callable[[Out, frozenset[int]], int | None] | None = None
    """Pick the partition from the topic's partitions (empty when unknown: the key hash decides)."""
    observe: Callable[[Out], None] | None = None
    """Counts what was sent (metrics of the worker's own, e.g. duplicates by kind)."""


@dataclass(frozen=True)
class Message:
    """One consumed message, as the runner sees it."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None


class Producer(Protocol):
    """Sends to the broker. ``send`` returns once the message is queued; awaiting what it returns waits for the
    broker's acknowledgement."""

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        partition: int | None = None,
        headers: Mapping[str, bytes] | None = None,
    ) -> Awaitable[Any]: ...

    async def partitions(self, topic: str) -> frozenset[int]: ...


@dataclass(frozen=True)
class Worker(Generic[In]):
    """A worker, declared: the runner and ``services.common.worker.serve`` do everything else."""

    stage: Stage
    sources: Mapping[Logical, type[In]]
    """Consumed topics and the record type of each."""
    step: Step[In]
    routes: Mapping[type[Record], Route[Any]]
    """Result record type (exact type) -> where it goes."""
    batch: Batch
    guard: bool = True
    """Stop on mass failure. Off for ingest: bad input there is the user's, not a sign of a bad deploy."""
    prepare: Callable[[], Awaitable[None]] | None = None
    """Awaited (and retried like the step) before the first batch: e.g. the index template."""
    tasks: Sequence[Callable[[Runtime], Awaitable[None]]] = ()
    """Long-running tasks beside the stream (the push API), started with the worker."""
    timers: Sequence[tuple[float, Callable[[], Awaitable[None]]]] = ()
    """(every seconds, call): housekeeping; a failing timer logs and runs again next time."""
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()
    """Closed when the worker stops (clients)."""


def backoff_delay(attempt: int, policy: RetrySettings, rand: float) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, base * 2**attempt)]."""
    return rand * min(policy.max_s, policy.base_s * 2.0 ** min(attempt, 30))


class RetriesExhausted(Exception):
    """A dependency kept refusing (``Transient``) for ``retry.attempts`` tries."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


T = TypeVar("T")


async def retrying(
    call: Callable[[], Awaitable[T]],
    policy: RetrySettings,
    *,
    stage: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """``call()`` until it answers: the one retry loop of every worker (the runner wraps each step in it).

    ``Unavailable`` is waited for without limit (delays up to ``policy.max_s``; the caller's consumption pauses
    meanwhile, so nothing is dead-lettered for an outage); ``Transient`` is tried ``policy.attempts`` more times,
    then ``RetriesExhausted``; anything else propagates (a bug)."""
    attempt = 0
    refused = 0
    paused_for_search = False
    detail: Unavailable | Transient
    while True:
        try:
            out = await call()
        except Unavailable as exc:
            if exc.dependency == "search":
                metrics.SEARCH_UP.set(0)
                paused_for_search = True
            metrics.STEP_RETRIES.labels(stage, "unavailable").inc()
            delay = backoff_delay(attempt, policy, 0.5 + rand() / 2)  # never a busy loop while waiting
            what, detail = "unavailable, pausing", exc
        except Transient as exc:
            metrics.STEP_RETRIES.labels(stage, "transient").inc()
            refused += 1
            if refused > policy.attempts:
                log.error(
                    "retries exhausted stage=%s dependency=%s error=%s", stage, exc.dependency, exc.detail
                )
                raise RetriesExhausted(exc.detail) from exc
            delay = backoff_delay(attempt, policy, rand())
            what, detail = "refused, retrying", exc
        else:
            if paused_for_search:  # the server answers again
                metrics.SEARCH_UP.set(1)
                metrics.SEARCH_RECONNECTS.labels(stage).inc()
            return out
        log.warning(
            "dependency %s stage=%s dependency=%s attempt=%d delay=%.2f error=%s",
            what,
            stage,
            detail.dependency,
            attempt + 1,
            delay,
            detail.detail,
        )
        attempt += 1
        await sleep(delay)


@dataclass
class FailureGuard:
    """Outcomes of the last ``window`` messages; ``failing()`` once more than ``max_ratio`` of a full window
    failed."""

    window: int
    max_ratio: float
    _recent: deque[bool] = field(init=False)

    def __post_init__(self) -> None:
        self._recent = deque(maxlen=self.window)

    def add(self, ok: bool, n: int = 1) -> None:
        for _ in range(n):
            self._recent.append(ok)

    def failing(self) -> int:
        """How many of the window failed, when that is too many; else 0."""
        if len(self._recent) < self.window:
            return 0
        failed = self._recent.count(False)
        return failed if failed / self.window > self.max_ratio else 0


class Runtime:
    """The shared part of a running worker: topic names, the producer, dead letters and acknowledgements."""

    def __init__(self, stage: Stage, settings: Settings, producer: Producer) -> None:
        self.stage = stage
        self.settings = settings
        self.names: TopicNames = names(settings.kafka.topic_prefix)
        self.producer = producer

    async def publish(self, topic: Logical, items: Sequence[tuple[str, Record]]) -> None:
        """Send records and return once the broker acknowledged all of them (the push API answers after this)."""
        full = self.names.of(topic)
        acks = [await self.producer.send(full, key.encode(), rec.to_json()) for key, rec in items]
        await asyncio.gather(*acks)

    def dead_letter_of(
        self, msg: Message | None, rejected: Rejected
    ) -> tuple[bytes | None, bytes, dict[str, bytes]]:
        """Key, value and headers of the dead letter for ``msg`` (None: the input did not come from a topic)."""
        payload = msg.value or b"" if msg is not None else b""
        origin = (
            Origin(topic=msg.topic, partition=msg.partition, offset=msg.offset) if msg is not None else None
        )
        cap = self.settings.dlq_max_payload_bytes
        trace: Trace | None = rejected.trace
        dl = DeadLetter(
            stage=self.stage,
            reason=rejected.reason,
            detail=rejected.detail,
            origin=origin,
            trace=trace,
            payload=payload[:cap].decode("utf-8", errors="replace"),
            payload_truncated=len(payload) > cap,
            payload_bytes=len(payload),
        )
        headers = {"stage": self.stage.encode(), "reason": rejected.reason.encode()}
        if origin is not None:
            headers |= {
                "origin_topic": origin.topic.encode(),
                "origin_partition": str(origin.partition).encode(),
                "origin_offset": str(origin.offset).encode(),
            }
        key = trace.ingest_id.encode() if trace and trace.ingest_id else None
        log.warning(
            "dead-lettered stage=%s reason=%s topic=%s partition=%s offset=%s source=%s",
            self.stage,
            rejected.reason,
            origin.topic if origin else "-",
            origin.partition if origin else "-",
            origin.offset if origin else "-",
            trace.source if trace else "-",
        )
        return key, dl.to_json(), headers


class Runner(Generic[In]):
    """Runs one worker's batches. ``run_batch`` returns only when everything the batch produced is
    acknowledged; the caller then acknowledges (and later commits) the batch's messages."""

    def __init__(
        self,
        worker: Worker[In],
        runtime: Runtime,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.worker = worker
        self.rt = runtime
        self.stage = worker.stage
        self.policy = runtime.settings.retry
        self.sleep = sleep
        self.rand = rand
        self.guard = FailureGuard(runtime.settings.dlq_window, runtime.settings.dlq_max_failure_ratio)
        self._prepared = worker.prepare is None
        self._source_of = {runtime.names.of(t): rec for t, rec in worker.sources.items()}
        # Series exist from the start at 0, so the first failure is a visible increase, not a new series at 1.
        for outcome in metrics.OUTCOMES:
            metrics.MESSAGES.labels(self.stage, outcome)
        for kind in ("unavailable", "transient"):
            metrics.STEP_RETRIES.labels(self.stage, kind)
        metrics.PROCESSING_SECONDS.labels(self.stage)

    async def run_batch(self, messages: Sequence[Message]) -> None:
        """Decode, step, route and wait for the acknowledgements of one batch (see the module docstring)."""
        if not messages:
            return
        t0 = time.perf_counter()
        acks: list[Awaitable[Any]] = []
        good: list[tuple[Message, In]] = []
        for msg in messages:
            model = self._source_of.get(msg.topic)
            rec = (
                decode(model, msg.value)
                if model
                else Rejected(reason="unknown-topic", detail=f"{msg.topic} is not a source")
            )
            if isinstance(rec, Rejected):
                acks.append(await self._dead_letter(msg, rec))
            else:
                good.append((msg, rec))
        results = await self._step([r for _, r in good]) if good else []
        partitions: dict[Logical, frozenset[int]] = {}
        for (msg, _), result in zip(good, results, strict=True):
            for item in result:
                if isinstance(item, Rejected):
                    acks.append(await self._dead_letter(msg, item))
                    continue
                route = self.worker.routes.get(type(item))
                if route is None:  # a step returned a type nobody routes: a bug in the declaration
                    raise TypeError(f"stage {self.stage}: no route for {type(item).__name__}")
                part = None
                if route.partition is not None:
                    if route.topic not in partitions:
                        partitions[route.topic] = await self.rt.producer.partitions(
                            self.rt.names.of(route.topic)
                        )
                    part = route.partition(item, partitions[route.topic])
                acks.append(
                    await self.rt.producer.send(
                        self.rt.names.of(route.topic),
                        route.key(item).encode(),
                        item.to_json(),
                        partition=part,
                    )
                )
                if route.observe is not None:
                    route.observe(item)
                self._count(True, route.outcome)
        # Every write of this batch acknowledged before its messages are: the commit can never pass a lost write.
        await asyncio.gather(*acks)
        hist = metrics.PROCESSING_SECONDS.labels(self.stage)
        per_message = (time.perf_counter() - t0) / len(messages)
        for _ in messages:
            hist.observe(per_message)

    async def _step(self, records: list[In]) -> Sequence[StepResult]:
        """The step's results, retried as a whole while a dependency is unavailable or refuses; when it keeps
        refusing, every record of the batch is rejected with ``retries-exhausted``."""

        async def call() -> Sequence[StepResult]:
            if not self._prepared and self.worker.prepare is not None:
                await self.worker.prepare()
                self._prepared = True
            return await self.worker.step(records)

        try:
            results = await retrying(call, self.policy, stage=self.stage, sleep=self.sleep, rand=self.rand)
        except RetriesExhausted as exc:
            gave_up = Rejected(reason="retries-exhausted", detail=exc.detail[:500])
            return [[gave_up.model_copy(update={"trace": _trace_of(r)})] for r in records]
        if len(results) != len(records):
            raise RuntimeError(
                f"stage {self.stage}: step gave {len(results)} results for {len(records)} records"
            )
        return results

    async def _dead_letter(self, msg: Message | None, rejected: Rejected) -> Awaitable[Any]:
        key, value, headers = self.rt.dead_letter_of(msg, rejected)
        ack = await self.rt.producer.send(self.rt.names.deadletter, key, value, headers=headers)
        metrics.DEAD_LETTERS.labels(self.stage, rejected.reason).inc()
        self._count(False, "dead_letter")
        return ack

    def _count(self, ok: bool, outcome: str) -> None:
        metrics.MESSAGES.labels(self.stage, outcome).inc()
        self.guard.add(ok)
        failed = self.guard.failing() if self.worker.guard and not ok else 0
        if failed:  # at once, mid-batch: not one dead letter more than the window that tripped it
            log.critical(
                "TooManyFailures stage=%s failed=%d window=%d: stopping instead of dead-lettering everything "
                "(bad deploy or broken dependency?)",
                self.stage,
                failed,
                self.guard.window,
            )
            raise TooManyFailures(f"{failed} of the last {self.guard.window} messages failed at {self.stage}")


def _trace_of(record: Record) -> Trace | None:
    trace = getattr(record, "trace", None)
    return trace if isinstance(trace, Trace) else None
