"""Client side of ingest: turn paths into inbox items and send them to a running stack (``newsflow ingest``)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

from kafka import KafkaProducer

from services.common.records import DeadLetter, InboxItem, Trace
from services.common.settings import Settings
from services.common.topics import names

INPUT_SUFFIXES = (".txt", ".json", ".jsonl", ".ndjson", ".html", ".htm", ".html.gz")


def expand(paths: list[str]) -> Iterator[tuple[str, Path]]:
    """(source as given, file) for every input: files as given, directories walked in sorted path order."""
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith(".")):
                yield str(Path(given) / f.relative_to(p)), f
        else:
            yield given, p


def read_item(source: str, path: Path, max_bytes: int) -> InboxItem | DeadLetter:
    """An inbox item for the file, or a dead letter when it cannot be sent (unreadable, too large)."""
    ingest_id = uuid.uuid4().hex
    trace = Trace(ingest_id=ingest_id, source=source)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return DeadLetter(stage="ingest", reason="too-large", trace=trace,
                              detail=f"{size} bytes > max_article_bytes {max_bytes}", payload_bytes=size)
        data = path.read_bytes()
    except OSError as exc:
        return DeadLetter(stage="ingest", reason="unreadable", detail=str(exc), trace=trace)
    return InboxItem(ingest_id=ingest_id, source=source, content_b64=base64.b64encode(data).decode())


def send(settings: Settings, producer: KafkaProducer, item: InboxItem | DeadLetter) -> None:
    tn = names(settings.kafka.topic_prefix)
    if isinstance(item, InboxItem):
        producer.send(tn.inbox, key=item.ingest_id.encode(), value=item.to_json())
    else:
        assert item.trace is not None
        headers = [("stage", b"ingest"), ("reason", item.reason.encode())]
        producer.send(tn.deadletter, key=item.trace.ingest_id.encode(), value=item.to_json(), headers=headers)
