"""Test harness: a pipeline of real worker processes on the session's embedded Tansu + osmem, isolated per test
by a unique topic prefix, index names and consumer groups."""

from __future__ import annotations

import base64
import os
import signal
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from services.common.es import sync_client
from services.common.kafka import create_topics, producer
from services.common.records import InboxItem
from services.common.settings import ElasticSettings, KafkaSettings, Settings
from services.common.topics import STAGES, Stage
from services.ingest.reader import read_items
from services.ingest.submit import send
from services.ops.embedded import Stack
from services.ops.init import init
from services.ops.supervisor import Running, WorkerProc
from services.ops.tracking import Tracker


def test_settings(stack: Stack, prefix: str, partitions: int = 4, **over: Any) -> Settings:
    kafka = KafkaSettings(bootstrap=stack.broker.bootstrap, topic_prefix=prefix, partitions=partitions)
    es = ElasticSettings(
        url=stack.search.url,
        compat="osmem",
        index_prefix=f"{prefix}-articles",
        alias=f"{prefix}-articles",
        dedupe_index=f"{prefix}-dedupe",
    )
    return Settings(kafka=kafka, es=es, **over)


def cli_env(s: Settings | None = None) -> dict[str, str]:
    """The environment for a ``newsflow`` subprocess: this one's, without any NEWSFLOW_ setting from outside,
    pointed at ``s``'s servers and names when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    return env | env_of(s) if s is not None else env


def env_of(s: Settings) -> dict[str, str]:
    return {
        "NEWSFLOW_KAFKA__BOOTSTRAP": s.kafka.bootstrap or "",
        "NEWSFLOW_KAFKA__TOPIC_PREFIX": s.kafka.topic_prefix,
        "NEWSFLOW_KAFKA__PARTITIONS": str(s.kafka.partitions),
        "NEWSFLOW_ES__URL": s.es.url or "",
        "NEWSFLOW_ES__COMPAT": s.es.compat,
        "NEWSFLOW_ES__INDEX_PREFIX": s.es.index_prefix,
        "NEWSFLOW_ES__ALIAS": s.es.alias,
        "NEWSFLOW_ES__DEDUPE_INDEX": s.es.dedupe_index,
        "NEWSFLOW_DATA_DIR": s.data_dir,
    }


@dataclass
class Pipeline:
    settings: Settings
    running: Running
    tracker: Tracker | None = None
    _producer: KafkaProducer | None = None
    sent: list[str] = field(default_factory=list)

    def start(
        self, stages: Iterable[Stage] = STAGES, env: dict[str, dict[str, str]] | None = None
    ) -> Pipeline:
        """Start workers; ``env`` adds environment per stage (e.g. a push token for ingest)."""
        init(self.settings)
        for st in stages:
            self.running.start_worker(st, (env or {}).get(st))
        self.tracker = Tracker(self.settings)
        return self

    def worker(self, stage: str) -> WorkerProc:
        return next(w for w in self.running.workers if w.stage == stage)

    def kill(self, stage: str, sig: int = signal.SIGKILL) -> None:
        self.running.stop_worker(self.worker(stage), sig)

    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = producer(self.settings.kafka)
        return self._producer

    def send_bytes(self, source: str, data: bytes) -> str:
        iid = uuid.uuid4().hex
        item = InboxItem(ingest_id=iid, source=source, content_b64=base64.b64encode(data).decode())
        assert self.tracker is not None
        self.tracker.expect(iid)
        send(self.settings, self.producer, item)
        self.sent.append(iid)
        return iid

    def send_paths(self, *paths: str | Path) -> None:
        assert self.tracker is not None
        for item in read_items(list(paths), self.settings.ingest):
            iid = item.ingest_id if isinstance(item, InboxItem) else item.trace.ingest_id  # type: ignore[union-attr]
            self.tracker.expect(iid)
            send(self.settings, self.producer, item)
            self.sent.append(iid)
        self.producer.flush()

    def flush(self) -> None:
        self.producer.flush()

    def wait(self, timeout_s: float = 120.0) -> Tracker:
        assert self.tracker is not None
        self.flush()

        def alive(_: Tracker) -> None:
            for w in self.running.workers:
                if w.proc.poll() is not None:
                    raise AssertionError(f"worker {w.stage} died: {w.log_path.read_text()[-3000:]}")

        if not self.tracker.wait(timeout_s, on_progress=alive):
            logs = {w.stage: w.log_path.read_text()[-3000:] for w in self.running.workers}
            raise AssertionError(
                f"{len(self.tracker.pending())} inputs unfinished after {timeout_s}s; logs: {logs}"
            )
        return self.tracker

    def es(self) -> Elasticsearch:
        return sync_client(self.settings.es)

    def documents(self) -> list[dict[str, Any]]:
        es = self.es()
        try:
            es.indices.refresh(index=self.settings.es.alias)
            resp = es.search(index=self.settings.es.alias, size=10000, query={"term": {"pending": False}})
            return [h["_source"] | {"_id": h["_id"]} for h in resp["hits"]["hits"]]
        finally:
            es.close()

    def wait_documents(self, n: int, timeout_s: float = 120.0) -> list[dict[str, Any]]:
        """Poll the index until it holds at least ``n`` documents (for inputs the tracker cannot follow)."""
        import time

        deadline = time.monotonic() + timeout_s
        docs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            docs = self.documents()
            if len(docs) >= n:
                return docs
            time.sleep(0.5)
        raise AssertionError(f"{len(docs)} of {n} documents after {timeout_s}s")

    def stop(self) -> None:
        if self._producer is not None:
            self._producer.close()
        if self.tracker is not None:
            self.tracker.close()
        self.running.stop()


def make_pipeline(stack: Stack, tmp: Path, partitions: int = 4, **over: Any) -> Pipeline:
    prefix = "t" + uuid.uuid4().hex[:10]
    s = test_settings(stack, prefix, partitions, data_dir=str(tmp / "nf"), **over)
    (tmp / "nf" / "logs").mkdir(parents=True, exist_ok=True)
    create_topics(s.kafka)
    running = Running(s.kafka.bootstrap or "", s.es.url or "", env_of(s), None, log_dir=tmp / "nf" / "logs")
    return Pipeline(s, running)
