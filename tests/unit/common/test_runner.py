"""The step runner without a broker: an in-memory batch in, a fake producer out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from services.common import metrics
from services.common.records import Article, DeadLetter, Rejected, Trace, UniqueArticle
from services.common.runner import (
    Batch,
    Message,
    Route,
    Runner,
    Runtime,
    StepResult,
    TooManyFailures,
    Transient,
    Unavailable,
    Worker,
)
from services.common.settings import RetrySettings, Settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class FakeProducer:
    """Records every send; acknowledgements are futures the test may hold back."""

    def __init__(self, hold: bool = False) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, int | None, dict[str, bytes]]] = []
        self.acks: list[asyncio.Future[None]] = []
        self.hold = hold

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        partition: int | None = None,
        headers: Mapping[str, bytes] | None = None,
    ) -> Awaitable[Any]:
        self.sent.append((topic, key, value, partition, dict(headers or {})))
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.hold:
            fut.set_result(None)
        self.acks.append(fut)
        return fut

    async def partitions(self, topic: str) -> frozenset[int]:
        return frozenset({0, 1, 2})

    def to(self, topic: str) -> list[bytes]:
        return [v for t, _, v, _, _ in self.sent if t == topic]


def article(i: int, body: str = "Some body text.") -> Article:
    return Article(
        id=f"a{i}",
        trace=Trace(ingest_id=f"ing-{i}", source=f"file-{i}.txt"),
        source=f"file-{i}.txt",
        body=body,
        ingested_at=NOW,
    )


def msg(i: int, value: bytes | None = None) -> Message:
    return Message(topic="newsflow.raw", partition=i % 2, offset=i, value=value or article(i).to_json())


def unique(a: Article) -> UniqueArticle:
    return UniqueArticle(**a.model_dump(), event_id="e", content_hash="h")


async def no_sleep(delay: float) -> None:
    await asyncio.sleep(0)


def settings(**over: Any) -> Settings:
    return Settings(retry=RetrySettings(base_s=0.01, max_s=0.05, attempts=2), **over)


def make(
    step: Any, *, guard: bool = True, producer: FakeProducer | None = None, **over: Any
) -> tuple[Runner[Article], FakeProducer]:
    prod = producer or FakeProducer()
    w: Worker[Article] = Worker(
        stage="dedupe",
        sources={"raw": Article},
        step=step,
        routes={UniqueArticle: Route("unique", key=lambda a: a.id, partition=lambda a, parts: max(parts))},
        batch=Batch(max_items=10, max_wait_s=0.01),
        guard=guard,
    )
    return Runner(w, Runtime("dedupe", settings(**over), prod), sleep=no_sleep, rand=lambda: 0.5), prod


async def uniques(batch: Sequence[Article]) -> list[StepResult]:
    return [
        [Rejected(reason="empty-body", trace=a.trace)] if not a.body.strip() else [unique(a)] for a in batch
    ]


def dead_letters(prod: FakeProducer) -> list[DeadLetter]:
    return [DeadLetter.model_validate(orjson.loads(v)) for v in prod.to("newsflow.deadletter")]


def test_good_records_are_routed_to_their_topic_with_key_and_partition() -> None:
    runner, prod = make(uniques)
    asyncio.run(runner.run_batch([msg(0), msg(1)]))
    assert [(t, k, p) for t, k, _, p, _ in prod.sent] == [
        ("newsflow.unique", b"a0", 2),
        ("newsflow.unique", b"a1", 2),
    ]


def test_a_rejected_record_and_an_undecodable_message_are_dead_lettered_with_origin_and_trace() -> None:
    runner, prod = make(uniques)
    asyncio.run(runner.run_batch([msg(0), msg(1, b"{not json"), msg(2, article(2, body="  ").to_json())]))
    assert prod.to("newsflow.unique") == [unique(article(0)).to_json()]
    dls = dead_letters(prod)
    assert [(d.reason, d.origin.offset if d.origin else None) for d in dls] == [
        ("invalid-json", 1),
        ("empty-body", 2),
    ]
    assert dls[1].trace is not None and dls[1].trace.ingest_id == "ing-2"
    headers = [h for t, _, _, _, h in prod.sent if t == "newsflow.deadletter"]
    assert headers[1]["origin_offset"] == b"2" and headers[1]["reason"] == b"empty-body"


def test_a_transient_error_is_retried_and_the_batch_then_goes_through() -> None:
    calls = 0

    async def flaky(batch: Sequence[Article]) -> list[StepResult]:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise Transient("search", "HTTP 503")
        return await uniques(batch)

    runner, prod = make(flaky)
    asyncio.run(runner.run_batch([msg(0)]))
    assert calls == 3 and len(prod.to("newsflow.unique")) == 1 and dead_letters(prod) == []


def test_a_dependency_that_keeps_refusing_dead_letters_the_batch_after_bounded_retries() -> None:
    calls = 0

    async def refusing(batch: Sequence[Article]) -> list[StepResult]:
        nonlocal calls
        calls += 1
        raise Transient("search", "HTTP 500")

    runner, prod = make(refusing)
    asyncio.run(runner.run_batch([msg(0), msg(1)]))
    assert calls == 3  # one try + retry.attempts (2)
    assert [(d.reason, d.trace.ingest_id if d.trace else None) for d in dead_letters(prod)] == [
        ("retries-exhausted", "ing-0"),
        ("retries-exhausted", "ing-1"),
    ]


def test_an_unavailable_dependency_is_waited_for_without_dead_lettering_anything() -> None:
    calls = 0
    seen_down = []

    async def outage(batch: Sequence[Article]) -> list[StepResult]:
        nonlocal calls
        calls += 1
        if calls <= 20:  # far more than retry.attempts: an outage is never counted against them
            raise Unavailable("search", "connection refused")
        seen_down.append(metrics.SEARCH_UP._value.get())
        return await uniques(batch)

    runner, prod = make(outage)
    reconnects = metrics.SEARCH_RECONNECTS.labels("dedupe")._value.get()
    asyncio.run(runner.run_batch([msg(0)]))
    assert calls == 21 and seen_down == [0] and metrics.SEARCH_UP._value.get() == 1
    assert metrics.SEARCH_RECONNECTS.labels("dedupe")._value.get() == reconnects + 1
    assert dead_letters(prod) == [] and len(prod.to("newsflow.unique")) == 1


def test_a_bug_in_the_step_propagates_and_nothing_is_acknowledged() -> None:
    async def buggy(batch: Sequence[Article]) -> list[StepResult]:
        raise KeyError("bug")

    runner, prod = make(buggy)
    with pytest.raises(KeyError):
        asyncio.run(runner.run_batch([msg(0)]))
    assert prod.to("newsflow.unique") == [] and dead_letters(prod) == []


def test_a_result_type_without_a_route_is_a_bug_not_a_silent_drop() -> None:
    async def wrong(batch: Sequence[Article]) -> list[StepResult]:
        return [[a] for a in batch]  # Article, but only UniqueArticle is routed

    runner, _ = make(wrong)
    with pytest.raises(TypeError, match="no route for Article"):
        asyncio.run(runner.run_batch([msg(0)]))


def test_run_batch_returns_only_after_every_send_and_dead_letter_is_acknowledged() -> None:
    """The caller acknowledges (and so commits) the batch's messages after run_batch: it must not return while
    a write of the batch is unacknowledged."""
    prod = FakeProducer(hold=True)
    runner, _ = make(uniques, producer=prod)

    async def go() -> list[str]:
        events: list[str] = []
        task = asyncio.create_task(runner.run_batch([msg(0), msg(1, b"{bad")]))
        for _ in range(20):
            await asyncio.sleep(0)
        events.append(f"sent={len(prod.sent)} done={task.done()}")
        for fut in prod.acks:
            fut.set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)
            events.append(f"done={task.done()}")
        await task
        return events

    events = asyncio.run(go())
    assert events[0] == "sent=2 done=False"
    assert events[1:] == ["done=False", "done=True"]


def test_the_worker_stops_when_most_of_a_window_fails_but_not_before_the_window_is_full() -> None:
    bad = [msg(i, b"{bad") for i in range(10)]
    runner, prod = make(uniques, dlq_window=20, dlq_max_failure_ratio=0.8)
    asyncio.run(runner.run_batch(bad))  # 10 of a 20 window: not yet
    with pytest.raises(TooManyFailures):
        asyncio.run(runner.run_batch([msg(i, b"{bad") for i in range(10, 30)]))
    # It stops at the failure that trips the window, mid-batch: not one dead letter more.
    assert len(dead_letters(prod)) == 20


def test_mostly_good_traffic_never_trips_the_failure_guard() -> None:
    runner, _ = make(uniques, dlq_window=10, dlq_max_failure_ratio=0.8)
    for start in range(0, 100, 10):
        batch = [msg(i, b"{bad") if i % 10 < 7 else msg(i) for i in range(start, start + 10)]
        asyncio.run(runner.run_batch(batch))


def test_without_the_guard_a_stage_dead_letters_everything_and_keeps_going() -> None:
    runner, prod = make(uniques, guard=False, dlq_window=5)
    asyncio.run(runner.run_batch([msg(i, b"{bad") for i in range(20)]))
    assert len(dead_letters(prod)) == 20


def test_one_input_may_give_several_records_and_rejections() -> None:
    async def split(batch: Sequence[Article]) -> list[StepResult]:
        return [[unique(a), Rejected(reason="too-long", trace=a.trace), unique(a)] for a in batch]

    runner, prod = make(split)
    asyncio.run(runner.run_batch([msg(5)]))
    assert len(prod.to("newsflow.unique")) == 2 and [d.reason for d in dead_letters(prod)] == ["too-long"]


def test_prepare_runs_once_before_the_first_batch_and_is_retried_like_the_step() -> None:
    prepared = []

    async def prepare() -> None:
        prepared.append(1)
        if len(prepared) < 3:
            raise Unavailable("search", "not up yet")

    prod = FakeProducer()
    w: Worker[Article] = Worker(
        stage="index",
        sources={"raw": Article},
        step=uniques,
        routes={UniqueArticle: Route("unique", key=lambda a: a.id)},
        batch=Batch(1, 0.01),
        prepare=prepare,
    )
    runner = Runner(w, Runtime("index", settings(), prod), sleep=no_sleep)
    asyncio.run(runner.run_batch([msg(0)]))
    asyncio.run(runner.run_batch([msg(1)]))
    assert len(prepared) == 3 and len(prod.to("newsflow.unique")) == 2


def test_outcomes_are_counted_per_stage() -> None:
    before = metrics.MESSAGES.labels("dedupe", "dead_letter")._value.get()
    runner, _ = make(uniques)
    asyncio.run(runner.run_batch([msg(0), msg(1, b"[1]")]))
    assert metrics.MESSAGES.labels("dedupe", "dead_letter")._value.get() == before + 1
