"""Dedupe with several worker processes on a real broker (Tansu) and search server (osmem).

Two ``newsflow worker dedupe`` processes share a 4-partition raw topic; copies are produced to other partitions
than their originals, so the worker that judges a copy is often not the one that saw the original: only the
shared state in the dedupe index can catch it. Also: two copies racing each other on two workers are never both
judged duplicates (that would lose the story), and the state survives a worker killed with SIGKILL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from services.common.kafka import create_topics
from services.common.records import Article, Trace
from services.common.settings import KafkaSettings
from services.common.settings.enrich import EnrichSettings
from services.common.text import clean
from services.common.topics import TopicNames, names
from services.dedupe.balance import ner_weight
from services.ingest.logic import article_id, parse_txt
from services.ops.bench import variant
from services.ops.embedded import Stack, free_port
from tests.conftest import REPO, SEEDS
from tests.harness import cli_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PARTITIONS = 4
READY_S = 45.0
VERDICTS_S = 40.0

HEADER = "By Staff Reporter | The Morning Ledger | Updated 19 Dec 2022, 10:42 GMT"
FOOTER = (
    "This story was originally published by the Wire Service. Copyright 2022. All rights reserved. Sign up "
    "for our daily newsletter to get the latest headlines delivered to your inbox."
)


def seed(name: str) -> tuple[str, datetime | None]:
    path = next(SEEDS.glob(f"{name}_*.txt"))
    fields = next(parse_txt(path.read_text(encoding="utf-8"))).fields
    pub = fields.get("published_at")
    return clean(fields["body"]), (datetime.fromisoformat(pub).replace(tzinfo=UTC) if pub else None)


def syndicated(body: str) -> str:
    """A syndicated copy: another outlet's header and footer, one paragraph dropped, a few words changed."""
    paras = [p for p in body.split("\n") if p.strip()]
    del paras[len(paras) // 2]
    paras[0] = paras[0].replace(" the ", " a ", 2)
    return "\n\n".join([HEADER, *paras, FOOTER])


def make_article(source: str, body: str, published: datetime | None = None) -> Article:
    url = f"https://example.test/{source}"
    return Article(
        id=article_id(url, body),
        trace=Trace(ingest_id=uuid.uuid4().hex, source=source),
        source=source,
        body=body,
        url=url,
        canonical_url=url,
        published_at=published,
    )


@dataclass
class Cluster:
    """Dedupe worker processes on one topic prefix and dedupe index of the session's stack."""

    stack: Stack
    tmp: Path
    prefix: str = field(default_factory=lambda: f"dd{uuid.uuid4().hex[:10]}")
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[int, int] = field(default_factory=dict)

    @property
    def topics(self) -> TopicNames:
        return names(self.prefix)

    def env(self, port: int, n: int) -> dict[str, str]:
        env = cli_env()
        env.update(
            {
                "NEWSFLOW_KAFKA__BOOTSTRAP": self.stack.broker.bootstrap,
                "NEWSFLOW_KAFKA__TOPIC_PREFIX": self.prefix,
                "NEWSFLOW_KAFKA__PARTITIONS": str(PARTITIONS),
                "NEWSFLOW_ES__URL": self.stack.search.url,
                "NEWSFLOW_ES__COMPAT": "osmem",
                "NEWSFLOW_ES__DEDUPE_INDEX": f"{self.prefix}-dedupe",
                "NEWSFLOW_WEB_PORT": str(port),
                "NEWSFLOW_DATA_DIR": str(self.tmp / f"data-{n}"),
                "NEWSFLOW_LOG_LEVEL": "INFO",
            }
        )
        return env

    def create_topics(self) -> None:
        create_topics(
            KafkaSettings(
                bootstrap=self.stack.broker.bootstrap, topic_prefix=self.prefix, partitions=PARTITIONS
            )
        )

    def start(self, n: int) -> None:
        port = self.ports.get(n) or free_port()
        self.ports[n] = port
        (self.tmp / f"data-{n}").mkdir(exist_ok=True)
        log = (self.tmp / f"dedupe-{n}.log").open("ab")
        self.procs[n] = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", "dedupe"],
            cwd=REPO,
            env=self.env(port, n),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def kill(self, n: int, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(n)
        proc.send_signal(sig)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def stop(self) -> None:
        for n in list(self.procs):
            self.kill(n, signal.SIGTERM)

    def ready(self, n: int) -> bool:
        proc = self.procs[n]
        if proc.poll() is not None:
            pytest.fail(f"dedupe worker {n} exited with {proc.returncode}; log: {self.log_tail(n)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[n]}/readyz", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def wait_ready(self, *ns: int) -> None:
        wait_for(f"dedupe workers {ns} ready", lambda: all(self.ready(n) for n in ns) or None, READY_S)

    def log_tail(self, n: int) -> str:
        path = self.tmp / f"dedupe-{n}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = probe()
        if got is not None:
            return got
        time.sleep(0.3)
    pytest.fail(f"{what}: not after {timeout_s:.0f} s")


@pytest.fixture
def cluster(stack: Stack, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(stack, tmp_path)
    c.create_topics()
    try:
        yield c
    finally:
        c.stop()


class Verdicts:
    """Reads the unique and duplicates topics from the start."""

    def __init__(self, stack: Stack, topics: TopicNames) -> None:
        self.consumer = KafkaConsumer(
            topics.unique,
            topics.duplicates,
            bootstrap_servers=stack.broker.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
            consumer_timeout_ms=500,
        )
        self.topics = topics
        self.unique: list[dict[str, Any]] = []
        self.unique_partitions: list[int] = []
        self.duplicates: list[dict[str, Any]] = []

    def poll(self) -> None:
        for batch in self.consumer.poll(timeout_ms=300).values():
            for msg in batch:
                rec = orjson.loads(msg.value)
                if msg.topic == self.topics.unique:
                    self.unique.append(rec)
                    self.unique_partitions.append(msg.partition)
                    assert msg.key == rec["id"].encode()  # keyed by article id, whichever partition
                else:
                    self.duplicates.append(rec)

    def wait(self, total: int, timeout_s: float = VERDICTS_S) -> None:
        def probe() -> bool | None:
            self.poll()
            return True if len(self.unique) + len(self.duplicates) >= total else None

        wait_for(
            f"{total} verdicts (have {len(self.unique)} unique, {len(self.duplicates)} duplicates)",
            probe,
            timeout_s,
        )
        time.sleep(0.5)
        self.poll()  # anything extra (a doubled verdict) shows up now

    def close(self) -> None:
        self.consumer.close()


def produce(stack: Stack, topics: TopicNames, items: list[tuple[Article, int]]) -> None:
    prod = KafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all")
    try:
        for art, partition in items:
            prod.send(topics.raw, key=art.trace.ingest_id.encode(), value=art.to_json(), partition=partition)
        prod.flush()
    finally:
        prod.close()


def test_two_workers_catch_copies_that_land_on_other_partitions(cluster: Cluster) -> None:
    cluster.start(1)
    cluster.start(2)
    cluster.wait_ready(1, 2)
    verdicts = Verdicts(cluster.stack, cluster.topics)
    try:
        b000, _ = seed("000")
        b001, _ = seed("001")
        b002, _ = seed("002")
        b003, p003 = seed("003")
        originals = [make_article("000", b000), make_article("001", b001), make_article("003", b003, p003)]
        produce(cluster.stack, cluster.topics, [(a, i) for i, a in enumerate(originals)])
        verdicts.wait(len(originals))

        # each copy on another partition than its original (originals sit on partitions 0, 1, 2)
        copies = [
            (make_article("000-exact", b000), 3, originals[0], "exact"),
            (make_article("001-near", syndicated(b001)), 2, originals[1], "near"),
            (make_article("003-near", syndicated(b003), p003), 0, originals[2], "near"),
            (make_article("002-rewrite", b002), 3, originals[1], "rewrite"),
            (make_article("000-exact-again", b000), 1, originals[0], "exact"),
        ]
        produce(cluster.stack, cluster.topics, [(c, p) for c, p, _, _ in copies])
        verdicts.wait(len(originals) + len(copies))

        unique_ids = [u["id"] for u in verdicts.unique]
        assert sorted(unique_ids) == sorted(a.id for a in originals), "every original unique, exactly once"
        got = {d["duplicate"]["article_id"]: d for d in verdicts.duplicates}
        assert len(verdicts.duplicates) == len(copies)
        for copy, _, original, kind in copies:
            d = got.get(copy.id)
            if copy.id == originals[0].id:  # exact copies share the original's id: find them by ingest key
                d = next(
                    x
                    for x in verdicts.duplicates
                    if x["duplicate"]["ingest_key"] == f"{copy.trace.ingest_id}:0"
                )
            assert d is not None, f"copy {copy.source} not caught"
            assert d["original_id"] == original.id, copy.source
            assert d["duplicate"]["kind"] == kind, copy.source
        # 000 and 001 report one event, 003 another. (Which of 000/001 gives the event its id depends on which
        # worker decided first: the originals were produced together, a race.)
        events = {u["id"]: u["event_id"] for u in verdicts.unique}
        assert events[originals[0].id] == events[originals[1].id] != events[originals[2].id]
        assert {events[originals[0].id], events[originals[2].id]} <= {a.id for a in originals}
        for d in verdicts.duplicates:
            assert d["event_id"] == events[d["original_id"]]
    finally:
        verdicts.close()


def test_two_workers_never_judge_racing_copies_duplicates_of_each_other(cluster: Cluster) -> None:
    cluster.start(1)
    cluster.start(2)
    cluster.wait_ready(1, 2)
    verdicts = Verdicts(cluster.stack, cluster.topics)
    try:
        pairs: list[tuple[Article, Article]] = []
        for name in ("000", "001", "003"):
            body, pub = seed(name)
            pairs.append(
                (make_article(f"{name}-a", syndicated(body), pub), make_article(f"{name}-b", body, pub))
            )
        # both copies of a story at once, on partitions that the two workers split between them
        produce(
            cluster.stack,
            cluster.topics,
            [(a, i % PARTITIONS) for i, (a, _) in enumerate(pairs)]
            + [(b, (i + 2) % PARTITIONS) for i, (_, b) in enumerate(pairs)],
        )
        verdicts.wait(2 * len(pairs))
        unique = {u["id"] for u in verdicts.unique}
        dups = {d["duplicate"]["article_id"]: d["original_id"] for d in verdicts.duplicates}
        assert len(verdicts.unique) + len(verdicts.duplicates) == 2 * len(pairs)
        for a, b in pairs:
            assert a.id in unique or b.id in unique, (
                f"both copies of {a.source} judged duplicates: story lost"
            )
            for x, y in ((a, b), (b, a)):
                if x.id in dups:
                    assert dups[x.id] == y.id and y.id in unique
    finally:
        verdicts.close()


def test_dedupe_state_survives_a_killed_worker(cluster: Cluster) -> None:
    cluster.start(1)
    cluster.wait_ready(1)
    verdicts = Verdicts(cluster.stack, cluster.topics)
    try:
        body, _ = seed("001")
        original = make_article("001", body)
        produce(cluster.stack, cluster.topics, [(original, 0)])
        verdicts.wait(1)
        cluster.kill(1, signal.SIGKILL)
        cluster.start(1)
        cluster.wait_ready(1)
        copy = make_article("001-near", syndicated(body))
        produce(cluster.stack, cluster.topics, [(copy, 2)])
        verdicts.wait(2)
        assert [u["id"] for u in verdicts.unique] == [original.id]
        assert [(d["original_id"], d["duplicate"]["kind"]) for d in verdicts.duplicates] == [
            (original.id, "near")
        ]
    finally:
        verdicts.close()


def test_unique_articles_go_where_the_ner_work_is_least(cluster: Cluster) -> None:
    """A few long articles among many short ones: by key hash one enrich partition could get most of the NER work;
    the dedupe worker spreads the work itself, so no partition is behind another by more than one article."""
    cluster.start(1)
    cluster.wait_ready(1)
    verdicts = Verdicts(cluster.stack, cluster.topics)
    try:
        bodies = [seed(n)[0] for n in ("000", "001", "003")]
        arts = []
        for i in range(24):
            size = 6 if i % 8 == 0 else 1  # every eighth article six times as long
            text = "\n\n".join(variant(bodies[(i + k) % 3], 100 * i + k + 1) for k in range(size))
            arts.append(make_article(f"work-{i}", text))
        produce(cluster.stack, cluster.topics, [(a, 0) for a in arts])
        verdicts.wait(len(arts))
        assert sorted(u["id"] for u in verdicts.unique) == sorted(a.id for a in arts)
        load = dict.fromkeys(range(PARTITIONS), 0)
        for rec, p in zip(verdicts.unique, verdicts.unique_partitions, strict=True):
            load[p] += ner_weight(rec["body"], EnrichSettings().max_chars)
        heaviest = max(ner_weight(a.body, EnrichSettings().max_chars) for a in arts)
        assert max(load.values()) - min(load.values()) <= heaviest, load
    finally:
        verdicts.close()
