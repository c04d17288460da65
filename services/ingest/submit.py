"""Client side of ingest: inputs from sources (files, URLs, feeds) sent to a running stack's inbox topic."""

from __future__ import annotations

from pathlib import Path

from kafka import KafkaProducer

from services.common.records import DeadLetter, InboxItem, Rejected
from services.common.settings import Settings
from services.common.topics import names
from services.ingest.sources.files import FileSource, expand

__all__ = ["as_dead_letter", "expand", "max_input_bytes", "read_item", "send"]


def max_input_bytes(settings: Settings) -> int:
    """Largest input file sent (see ``services.ingest.reader.input_cap``)."""
    return max(settings.ingest.max_article_bytes, settings.ingest.max_html_bytes)


def as_dead_letter(rej: Rejected) -> DeadLetter:
    """An input that could not even be read (too large, unreadable, unreachable) is dead-lettered here."""
    return DeadLetter(stage="ingest", reason=rej.reason, detail=rej.detail, trace=rej.trace)


def read_item(source: str, path: Path, max_bytes: int) -> InboxItem | DeadLetter:
    """An inbox item for the file, or a dead letter when it cannot be sent (unreadable, too large)."""
    got = FileSource([path], max_bytes).read(source, path)  # refuses non-regular files, never blocks
    return as_dead_letter(got) if isinstance(got, Rejected) else got


def send(settings: Settings, producer: KafkaProducer, item: InboxItem | DeadLetter | Rejected) -> str:
    """Send one input (or its dead letter); returns its ingest id."""
    tn = names(settings.kafka.topic_prefix)
    if isinstance(item, Rejected):
        item = as_dead_letter(item)
    if isinstance(item, InboxItem):
        producer.send(tn.inbox, key=item.ingest_id.encode(), value=item.to_json())
        return item.ingest_id
    assert item.trace is not None
    headers = [("stage", b"ingest"), ("reason", item.reason.encode())]
    producer.send(tn.deadletter, key=item.trace.ingest_id.encode(), value=item.to_json(), headers=headers)
    return item.trace.ingest_id
