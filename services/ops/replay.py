"""Re-feed a topic: copy its messages (all, or those at or after a time) back onto it. Every stage is idempotent
(ids, claims recognising their own arrival, ``_id`` upserts), so a replay rebuilds without doubling anything.
Scans from the beginning until the topic is quiet for 3 s and filters by timestamp, instead of ListOffsets
(by time or latest), which not every broker answers correctly (Tansu's "latest" is wrong)."""

from __future__ import annotations

from datetime import datetime

from services.common.kafka import consumer, producer
from services.common.settings import Settings
from services.common.topics import Logical, names


def replay(settings: Settings, logical: Logical, since: datetime | None) -> int:
    topic = names(settings.kafka.topic_prefix).of(logical)
    c = consumer(settings.kafka, group_id=None, consumer_timeout_ms=3000)
    from kafka import TopicPartition

    parts = c.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    cutoff_ms = int(since.timestamp() * 1000) if since else None
    batch = []
    for msg in c:
        if cutoff_ms is None or msg.timestamp >= cutoff_ms:
            batch.append(msg)
    c.close()
    p = producer(settings.kafka)
    for msg in batch:
        p.send(topic, key=msg.key, value=msg.value, headers=[*(msg.headers or []), ("replayed", b"1")])
    p.flush()
    p.close()
    return len(batch)
