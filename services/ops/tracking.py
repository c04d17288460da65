"""Follows inputs to their end: every record of every ingest request is either acknowledged on the indexed
topic (a document or a recorded duplicate) or dead-lettered. Used by ``demo`` and ``bench`` to know when to stop."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from services.common.kafka import consumer
from services.common.records import DeadLetter, IndexedAck, Rejected, decode
from services.common.settings import Settings
from services.common.topics import names


@dataclass
class Tracker:
    settings: Settings
    expected: dict[str, int | None] = field(default_factory=dict)  # ingest_id -> records (None until known)
    done: dict[str, set[int]] = field(default_factory=dict)
    acks: list[IndexedAck] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    def __post_init__(self) -> None:
        tn = names(self.settings.kafka.topic_prefix)
        self._consumer = consumer(
            self.settings.kafka, tn.indexed, tn.deadletter, group_id=None, consumer_timeout_ms=200
        )
        self._seen: set[tuple[str, int, str]] = set()

    def expect(self, ingest_id: str) -> None:
        self.expected.setdefault(ingest_id, None)

    def _mark(self, ingest_id: str, record: int, records: int) -> None:
        if ingest_id not in self.expected:
            return  # from another run on the same topics
        self.expected[ingest_id] = records
        self.done.setdefault(ingest_id, set()).add(record)

    def poll(self) -> None:
        for msg in self._consumer:
            if msg.topic.endswith(".indexed"):
                ack = decode(IndexedAck, msg.value)
                if isinstance(ack, Rejected) or ack.trace.ingest_id not in self.expected:
                    continue
                key = (ack.trace.ingest_id, ack.trace.record, "ack")
                if key not in self._seen:
                    self._seen.add(key)
                    self.acks.append(ack)
                self._mark(ack.trace.ingest_id, ack.trace.record, ack.trace.records)
            else:
                dl = decode(DeadLetter, msg.value)
                if isinstance(dl, Rejected) or dl.trace is None or dl.trace.ingest_id not in self.expected:
                    continue
                key = (dl.trace.ingest_id, dl.trace.record, "dl")
                if key not in self._seen:
                    self._seen.add(key)
                    self.dead.append(dl)
                self._mark(dl.trace.ingest_id, dl.trace.record, dl.trace.records)

    def pending(self) -> list[str]:
        out = []
        for iid, n in self.expected.items():
            got = self.done.get(iid, set())
            if n is None or len(got) < n:
                out.append(iid)
        return out

    def records_in(self) -> int:
        return sum(n or 0 for n in self.expected.values())

    def wait(self, timeout_s: float, on_progress: object = None) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll()
            if not self.pending():
                return True
            if callable(on_progress):
                on_progress(self)
        return not self.pending()

    def close(self) -> None:
        self._consumer.close()
