"""The supervisor's record of inputs, kept on disk so a crash can say what to ingest again.

While ``newsflow up`` runs it follows the inbox (what was sent), the indexed acknowledgements and the dead
letters (what ended), and appends one line per arrival and per end to ``inputs.ndjson`` in the data directory.
A clean stop (drained, left-overs in the replay file, snapshot written) removes the file. So when a start finds
one, the last run did not stop cleanly (SIGKILL, a crash, a power cut): every input that had not ended before
the last snapshot was taken — and every article indexed after it — is not in the restored index; the start
reports how many and lists their sources in ``reingest.txt``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from services.common.kafka import consumer
from services.common.records import DeadLetter, InboxItem, IndexedAck, Rejected, decode
from services.common.settings import Settings
from services.common.topics import names

log = logging.getLogger(__name__)

JOURNAL = "inputs.ndjson"
REINGEST = "reingest.txt"


@dataclass
class _Input:
    source: str
    records: int | None = None
    done: set[int] = field(default_factory=set)
    ended: bool = False


@dataclass(frozen=True)
class Unfinished:
    """What a run that did not stop cleanly left out of the last snapshot."""

    inputs: int
    articles_after_snapshot: int
    sources: list[str]
    listed_in: Path | None


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Journal:
    """Follows inputs to their end and writes each arrival and end to the journal file (line-buffered)."""

    def __init__(self, settings: Settings, data_dir: str | Path) -> None:
        tn = names(settings.kafka.topic_prefix)
        self._topics = tn
        self.path = Path(data_dir) / JOURNAL
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = self.path.open("wb", buffering=0)
        self._consumer = consumer(settings.kafka, tn.inbox, tn.indexed, tn.deadletter, group_id=None)
        self.inputs: dict[str, _Input] = {}
        self.changed = False  # something ended since the last call of ``mark_snapshot``

    def _write(self, row: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(orjson.dumps(row) + b"\n")

    def _arrived(self, ingest_id: str, source: str) -> _Input:
        item = self.inputs.get(ingest_id)
        if item is None:
            item = self.inputs[ingest_id] = _Input(source)
            self._write({"ev": "in", "id": ingest_id, "source": source, "t": _now()})
        return item

    def _record(self, ingest_id: str, source: str, record: int, records: int, article: bool) -> None:
        item = self._arrived(ingest_id, source)
        item.records = records
        item.done.add(record)
        self.changed = True
        if article:
            self._write({"ev": "article", "id": ingest_id, "t": _now()})
        if not item.ended and len(item.done) >= records:
            item.ended = True
            self._write({"ev": "done", "id": ingest_id, "t": _now()})

    def poll(self, timeout_ms: int = 0) -> int:
        """Take what arrived since the last call; returns the number of messages read."""
        n = 0
        for msgs in self._consumer.poll(timeout_ms=timeout_ms, max_records=2000).values():
            for msg in msgs:
                n += 1
                if msg.topic == self._topics.inbox:
                    inbox = decode(InboxItem, msg.value)
                    if not isinstance(inbox, Rejected):
                        self._arrived(inbox.ingest_id, inbox.source)
                elif msg.topic == self._topics.indexed:
                    ack = decode(IndexedAck, msg.value)
                    if not isinstance(ack, Rejected):
                        t = ack.trace
                        self._record(t.ingest_id, t.source, t.record, t.records, ack.kind == "document")
                else:
                    dl = decode(DeadLetter, msg.value)
                    if not isinstance(dl, Rejected) and dl.trace is not None:
                        t = dl.trace
                        self._record(t.ingest_id, t.source, t.record, t.records, False)
        return n

    def pending(self) -> int:
        return sum(1 for i in self.inputs.values() if not i.ended)

    def mark_snapshot(self, taken_at: datetime) -> None:
        self._write({"ev": "snapshot", "t": taken_at.isoformat()})
        self.changed = False

    def close(self, clean: bool) -> None:
        """Stop following; a clean stop removes the file (nothing to report at the next start)."""
        self._consumer.close()
        if self._file is not None:
            self._file.close()
            self._file = None
        if clean:
            self.path.unlink(missing_ok=True)


def unfinished(data_dir: str | Path, snapshot_taken_at: datetime | None) -> Unfinished | None:
    """What the journal of a run that did not stop cleanly says is missing from a snapshot taken at
    ``snapshot_taken_at`` (``None``: no snapshot, everything is missing); ``None`` when the last run stopped
    cleanly (no journal). The sources are written to ``reingest.txt`` beside it."""
    data = Path(data_dir)
    path = data / JOURNAL
    if not path.exists():
        return None
    cutoff = snapshot_taken_at.isoformat() if snapshot_taken_at else ""
    sources: dict[str, str] = {}
    ended_before: set[str] = set()
    articles_after = 0
    for line in path.read_bytes().splitlines():
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # the last line of a crashed run may be cut
        ev, t = row.get("ev"), str(row.get("t", ""))
        if ev == "in":
            sources.setdefault(row["id"], row.get("source", ""))
        elif ev == "done" and t < cutoff:
            ended_before.add(row["id"])
        elif ev == "article" and t >= cutoff:
            articles_after += 1
    missing = sorted({src for iid, src in sources.items() if iid not in ended_before})
    listed: Path | None = None
    if missing:
        listed = data / REINGEST
        tmp = listed.with_name(listed.name + f".tmp-{os.getpid()}")
        tmp.write_text("".join(s + "\n" for s in missing), encoding="utf-8")
        os.replace(tmp, listed)
    previous = path.with_name(path.name + ".previous")
    os.replace(path, previous)
    return Unfinished(len(sources) - len(ended_before & set(sources)), articles_after, missing, listed)
