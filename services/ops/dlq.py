"""Reading and re-driving the dead-letter topic (``newsflow dlq``)."""

from __future__ import annotations

from services.common.kafka import consumer, producer
from services.common.records import DeadLetter, Rejected, decode
from services.common.settings import Settings
from services.common.topics import names


def read_dead_letters(
    settings: Settings,
    stage: str | None = None,
    reason: str | None = None,
) -> list[tuple[str, DeadLetter]]:
    """Every dead letter as (``partition:offset``, record), oldest first per partition."""
    tn = names(settings.kafka.topic_prefix)
    c = consumer(settings.kafka, tn.deadletter, group_id=None, consumer_timeout_ms=3000)
    out: list[tuple[str, DeadLetter]] = []
    for msg in c:
        dl = decode(DeadLetter, msg.value)
        if isinstance(dl, Rejected):
            continue
        if (stage and dl.stage != stage) or (reason and dl.reason != reason):
            continue
        out.append((f"{msg.partition}:{msg.offset}", dl))
    c.close()
    return sorted(out, key=lambda r: (r[1].at, r[0]))


def redrive(
    settings: Settings, stage: str | None = None, reason: str | None = None, refs: list[str] | None = None
) -> tuple[int, int]:
    """Send dead letters back to their origin topic with their original payload. Returns (sent, skipped):
    letters without an origin (rejected before reaching Kafka) or with a cut payload cannot be re-driven."""
    rows = read_dead_letters(settings, stage, reason)
    if refs:
        rows = [r for r in rows if r[0] in set(refs)]
    p = producer(settings.kafka)
    sent = skipped = 0
    for ref, dl in rows:
        if dl.origin is None or dl.payload_truncated or not dl.payload:
            skipped += 1
            continue
        key = dl.trace.ingest_id.encode() if dl.trace else None
        p.send(
            dl.origin.topic,
            key=key,
            value=dl.payload.encode("utf-8"),
            headers=[("redriven_from", ref.encode())],
        )
        sent += 1
    p.flush()
    p.close()
    return sent, skipped
