"""Consumer lag as Kafka sees it: for every stage's consumer group, committed offset vs end offset per partition.

Read with the admin client (OffsetFetch for the groups, ListOffsets for the partitions), so the figure does not
depend on which worker holds a partition, does not freeze when a stage stops fetching, and exists for a stage
that has no worker at all. Every worker runs a :class:`LagMonitor` on a timer (``kafka.lag_interval_s``): each
reports the lag of *every* stage, and the alert rules take the max over workers.

On the embedded Tansu broker, ListOffsets "latest" answers the base offset of the partition's last record batch
plus one (a 10-record batch at offsets 0..9 reports 1): the lag read that way is exact only while every batch
carries one record and under-reports otherwise. With ``kafka.lag_probe_end`` the monitor also fetches from that
answer minus one and takes the offset after the last record it gets as the end (README "Operations").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaError

from services.common import metrics
from services.common.kafka import client_kwargs
from services.common.settings import KafkaSettings
from services.common.topics import SOURCES, STAGES, Stage, group_id, names

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionLag:
    """The lag of one stage's consumer group on one partition of a topic it reads."""

    stage: Stage
    topic: str
    partition: int
    committed: int | None
    """the group's committed offset (the next message it will read); None when it never committed"""
    start: int
    """the earliest offset still in the log"""
    end: int
    """the offset the next message written to the partition gets"""

    @property
    def lag(self) -> int:
        return lag_of(self.committed, self.start, self.end)


def lag_of(committed: int | None, start: int, end: int) -> int:
    """Messages the group has still to read. A group that never committed starts at the earliest offset (the
    workers' ``auto_offset_reset`` is earliest), and so does one whose committed offset has expired."""
    position = start if committed is None or committed < start else committed
    return max(0, end - position)


def lags(
    stage: Stage,
    partitions: Iterable[TopicPartition],
    committed: Mapping[TopicPartition, int],
    start: Mapping[TopicPartition, int],
    end: Mapping[TopicPartition, int],
) -> list[PartitionLag]:
    """Join the three offset answers; a partition missing from an answer is left out (unknown is not zero)."""
    out = []
    for tp in sorted(partitions):
        if tp not in start or tp not in end:
            continue
        c = committed.get(tp)
        out.append(
            PartitionLag(
                stage, tp.topic, tp.partition, c if c is not None and c >= 0 else None, start[tp], end[tp]
            )
        )
    return out


class LagMonitor:
    """Reads every stage's lag and sets ``newsflow_consumer_lag{stage, topic, partition}``.

    Synchronous and not thread-safe: call :meth:`update` from one thread (the worker's lag timer), and
    :meth:`close` once at the end. The admin connection is made on first use and made again after an error.
    """

    def __init__(self, kafka: KafkaSettings, stages: Iterable[Stage] = STAGES) -> None:
        self.kafka = kafka
        self.stages = tuple(stages)
        self._admin: KafkaAdminClient | None = None
        self._consumer: KafkaConsumer | None = None
        self._series: set[tuple[str, str, str]] = set()

    def _client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(**client_kwargs(self.kafka), request_timeout_ms=10000)
        return self._admin

    def read(self) -> list[PartitionLag]:
        """One round of offset requests for every stage; raises the client's error when the broker fails."""
        admin = self._client()
        tn = names(self.kafka.topic_prefix)
        wanted = sorted({tn.of(t) for stage in self.stages for t in SOURCES[stage]})
        existing = set(admin.list_topics())
        described = admin.describe_topics([t for t in wanted if t in existing]) if existing else []
        partitions_of = {
            d["name"]: [TopicPartition(d["name"], p["partition_index"]) for p in d["partitions"]]
            for d in described
            if not d.get("error_code")
        }
        every = [tp for tps in partitions_of.values() for tp in tps]
        if not every:
            return []
        start = _offsets(admin.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in every}))
        end = _offsets(admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in every}))
        if self.kafka.lag_probe_end:
            end = self._probe_end(start, end)
        groups = {
            group_id(self.kafka.topic_prefix, stage): [
                tp for t in SOURCES[stage] for tp in partitions_of.get(tn.of(t), [])
            ]
            for stage in self.stages
        }
        answer = admin.list_group_offsets({g: tps for g, tps in groups.items() if tps})
        out: list[PartitionLag] = []
        for stage in self.stages:
            g = group_id(self.kafka.topic_prefix, stage)
            committed = {tp: om.offset for tp, om in answer.get(g, {}).items()}
            out.extend(lags(stage, groups[g], committed, start, end))
        return out

    def _probe_end(
        self, start: Mapping[TopicPartition, int], end: Mapping[TopicPartition, int], timeout_s: float = 2.0
    ) -> dict[TopicPartition, int]:
        """The true end of each non-empty partition: the offset after the last record fetched from the
        broker's answer minus one (where a broker like Tansu puts the last batch's base offset)."""
        out = dict(end)
        todo = {tp: e for tp, e in end.items() if e > start.get(tp, 0)}
        if not todo:
            return out
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                **client_kwargs(self.kafka), group_id=None, enable_auto_commit=False, consumer_timeout_ms=500
            )
        consumer = self._consumer
        consumer.assign(list(todo))
        for tp, e in todo.items():
            consumer.seek(tp, e - 1)
        pending = set(todo)
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=200).items():
                if records:
                    out[tp] = max(out[tp], records[-1].offset + 1)
                # A partition is done once its position reaches the end of what the broker holds.
                if consumer.position(tp) >= (consumer.highwater(tp) or 0):
                    pending.discard(tp)
        return out

    def update(self) -> list[PartitionLag]:
        """Read and export. When the broker does not answer, the gauges keep their last values, a warning is
        logged and ``[]`` returned; the next call connects again."""
        try:
            rows = self.read()
        except (KafkaError, OSError) as exc:
            log.warning("consumer lag not read bootstrap=%s error=%r", self.kafka.bootstrap, exc)
            self._reset()
            return []
        current: set[tuple[str, str, str]] = set()
        for row in rows:
            labels = (row.stage, row.topic, str(row.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(row.lag)
            current.add(labels)
        for stale in self._series - current:  # a topic deleted and made again with fewer partitions
            try:
                metrics.CONSUMER_LAG.remove(*stale)
            except KeyError:
                pass
        self._series = current
        return rows

    def _reset(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except Exception as exc:  # closing a broken connection may fail any way
                log.debug("consumer close failed error=%r", exc)
            self._consumer = None
        if self._admin is not None:
            try:
                self._admin.close()
            except Exception as exc:  # closing a broken connection may fail any way
                log.debug("admin close failed error=%r", exc)
            self._admin = None

    def close(self) -> None:
        self._reset()


def _offsets(answer: Mapping[TopicPartition, object]) -> dict[TopicPartition, int]:
    out: dict[TopicPartition, int] = {}
    for tp, value in answer.items():
        offset = getattr(value, "offset", None)
        if isinstance(offset, int) and offset >= 0:
            out[tp] = offset
    return out
