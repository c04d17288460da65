"""What a stop leaves in the broker is counted per stage and carried over a restart by the replay file."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from services.common.kafka import consumer, create_topics, producer
from services.common.topics import group_id, names
from services.ops import drain
from services.ops.embedded import Stack
from tests import harness

pytestmark = pytest.mark.integration


def test_unconsumed_messages_are_counted_per_stage_and_a_replay_file_carries_them_and_the_dead_letters(
    stack: Stack, tmp_path: Path
) -> None:
    prefix = "t" + uuid.uuid4().hex[:10]
    s = harness.test_settings(stack, prefix, partitions=2)
    create_topics(s.kafka)
    tn = names(prefix)
    p = producer(s.kafka)
    for i in range(3):
        p.send(tn.inbox, key=f"k{i}".encode(), value=f"inbox {i}".encode(), headers=[("h", b"v")])
    for i in range(2):
        p.send(tn.unique, key=f"u{i}".encode(), value=f"unique {i}".encode())
    p.send(tn.deadletter, key=b"d", value=b"dead")
    p.flush()

    # the dedupe group consumed and committed everything there is on raw (nothing): not behind
    assert drain.pending(s) == {"ingest": 3, "dedupe": 0, "enrich": 2, "index": 0}

    # the ingest group reads and commits everything on the inbox (assigned: no group join to wait for)
    c = consumer(s.kafka, group_id=group_id(prefix, "ingest"), consumer_timeout_ms=2000)
    tps = [TopicPartition(tn.inbox, p) for p in sorted(c.partitions_for_topic(tn.inbox) or set())]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    assert len(list(c)) == 3
    c.commit()
    c.close()
    assert drain.pending(s)["ingest"] == 0

    kept, dead = drain.write_replay(s, tmp_path)
    assert (kept, dead) == (2, 1)

    other = harness.test_settings(stack, "t" + uuid.uuid4().hex[:10], partitions=2)
    create_topics(other.kafka)
    assert drain.send_replay(other, tmp_path) == 3
    assert not (tmp_path / drain.REPLAY_FILE).exists(), "sent once: set aside"
    tn2 = names(other.kafka.topic_prefix)
    c2: KafkaConsumer = consumer(
        other.kafka, tn2.unique, tn2.deadletter, group_id=None, consumer_timeout_ms=2000
    )
    back = sorted((m.topic.rsplit(".", 1)[1], m.key, m.value) for m in c2)
    c2.close()
    assert back == [
        ("deadletter", b"d", b"dead"),
        ("unique", b"u0", b"unique 0"),
        ("unique", b"u1", b"unique 1"),
    ]
    assert drain.pending(other)["enrich"] == 2, "the next start's enrich stage has them to consume"
