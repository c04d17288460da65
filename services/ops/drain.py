"""What is still in the broker, stage by stage, and the replay file that carries it over a restart.

The embedded broker (Tansu) keeps messages in memory only, so a stop loses whatever no stage has consumed yet.
A clean stop therefore waits until every stage's consumer group has committed past the last message of its
source topics (bounded), and writes what is left to ``replay.ndjson`` in the data directory; the next start
sends that file first, before any new input. The dead-letter topic, which nothing consumes, goes into the file
whole so ``newsflow dlq`` still lists every dead letter after a restart.

"Caught up" is read message by message (seek to the group's committed offset, see whether anything follows)
instead of from the end offsets, which Tansu reports wrongly for batches (ListOffsets "latest").
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from services.common.kafka import client_kwargs, consumer, producer
from services.common.settings import Settings
from services.common.topics import SOURCES, STAGES, Logical, Stage, group_id, names

log = logging.getLogger(__name__)

REPLAY_FILE = "replay.ndjson"
SENT_SUFFIX = ".sent"


@dataclass(frozen=True)
class Left:
    """One message not consumed yet (or a dead letter), with its logical topic."""

    topic: Logical
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def _committed(settings: Settings, stage: Stage, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The committed offsets of ``stage``'s group (0 where it has committed nothing). Asking does not join the
    group: no rebalance for the running workers."""
    c = KafkaConsumer(
        **client_kwargs(settings.kafka),
        group_id=group_id(settings.kafka.topic_prefix, stage),
        enable_auto_commit=False,
    )
    try:
        return {tp: c.committed(tp) or 0 for tp in tps}
    finally:
        c.close(autocommit=False)


def _partitions(c: KafkaConsumer, topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or set())]


def backlog(
    settings: Settings, with_dead_letters: bool = False, quiet_ms: int = 500
) -> dict[Stage, list[Left]]:
    """Per stage, the messages of its source topics past its group's committed offsets (oldest first per
    partition); with ``with_dead_letters`` also the whole dead-letter topic under the key ``"deadletter"``."""
    tn = names(settings.kafka.topic_prefix)
    c = consumer(settings.kafka, group_id=None, consumer_timeout_ms=quiet_ms)
    try:
        owner: dict[str, Stage] = {}
        starts: dict[TopicPartition, int] = {}
        for stage in STAGES:
            tps = [tp for logical in SOURCES[stage] for tp in _partitions(c, tn.of(logical))]
            for tp in tps:
                owner[tp.topic] = stage
            starts.update(_committed(settings, stage, tps))
        dead = _partitions(c, tn.deadletter) if with_dead_letters else []
        c.assign([*starts, *dead])
        for tp, offset in starts.items():
            c.seek(tp, offset)
        for tp in dead:
            c.seek(
                tp, 0
            )  # not seek_to_beginning: its offset lookup outlasts the quiet window (out of range on a
            # broker that expired old messages resets to the earliest: auto_offset_reset)
        out: dict[Any, list[Left]] = {stage: [] for stage in STAGES}
        for msg in c:
            logical = tn.logical(msg.topic)
            if logical is None:
                continue
            left = Left(logical, msg.key, msg.value, [(k, v) for k, v in msg.headers or []])
            out.setdefault(owner.get(msg.topic, "deadletter"), []).append(left)
        return out
    finally:
        c.close()


def pending(settings: Settings) -> dict[Stage, int]:
    """How many messages each stage has not consumed (committed) yet."""
    return {stage: len(msgs) for stage, msgs in backlog(settings).items() if stage in STAGES}


def write_replay(settings: Settings, data_dir: str | Path) -> tuple[int, int]:
    """Write what is left in the broker (and every dead letter) to the replay file, atomically.

    Returns (messages a stage had not consumed, dead letters). Nothing to keep: no file."""
    left = backlog(settings, with_dead_letters=True, quiet_ms=1000)  # once, at the end: a longer quiet window
    path = Path(data_dir) / REPLAY_FILE
    rows = [m for stage in STAGES for m in left.get(stage, [])]
    dead = left.get("deadletter", [])  # type: ignore[call-overload]
    if not rows and not dead:
        path.unlink(missing_ok=True)
        return 0, 0
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with tmp.open("wb") as f:
        for m in [*rows, *dead]:
            f.write(
                orjson.dumps(
                    {
                        "topic": m.topic,
                        "key": base64.b64encode(m.key).decode() if m.key is not None else None,
                        "value": base64.b64encode(m.value).decode(),
                        "headers": [[k, base64.b64encode(v).decode()] for k, v in m.headers],
                    }
                )
                + b"\n"
            )
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return len(rows), len(dead)


def send_replay(settings: Settings, data_dir: str | Path) -> int:
    """Send the replay file of the last stop (if any) to its topics, then set it aside (``.sent``).

    A file the broker did not take whole stays where it is, to be sent again at the next start (every stage is
    idempotent, so a second sending doubles nothing)."""
    path = Path(data_dir) / REPLAY_FILE
    if not path.exists():
        return 0
    tn = names(settings.kafka.topic_prefix)
    p = producer(settings.kafka)
    n = 0
    try:
        for line in path.read_bytes().splitlines():
            if not line.strip():
                continue
            row = orjson.loads(line)
            p.send(
                tn.of(row["topic"]),
                key=base64.b64decode(row["key"]) if row.get("key") is not None else None,
                value=base64.b64decode(row["value"]),
                headers=[(k, base64.b64decode(v)) for k, v in row.get("headers", [])],
            )
            n += 1
        p.flush()
    finally:
        p.close()
    os.replace(path, path.with_name(path.name + SENT_SUFFIX))
    return n
