"""Consumer lag read from the broker (services/common/lag.py) and `newsflow topics`, on the real Tansu broker.

What Tansu lets this prove: committed offsets per group (OffsetFetch), partitions (Metadata) and the earliest
offset are right; ListOffsets "latest" is right only when every record batch holds one record (it answers the
last batch's base offset + 1), so these tests write one record per batch, and one test pins the broker's wrong
answer so that a fixed Tansu shows up here. CreatePartitions is not implemented by Tansu at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client.parser import text_string_to_metric_families

from services.common import metrics
from services.common.kafka import create_topics
from services.common.lag import LagMonitor
from services.common.settings import KafkaSettings
from services.common.topics import SOURCES, STAGES, group_id, names
from services.ops.embedded import Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def kafka(stack: Stack) -> KafkaSettings:
    cfg = KafkaSettings(
        bootstrap=stack.broker.bootstrap, topic_prefix="t" + uuid.uuid4().hex[:10], partitions=3
    )
    create_topics(cfg)
    return cfg


@pytest.fixture
def monitor(kafka: KafkaSettings) -> Iterator[LagMonitor]:
    m = LagMonitor(kafka)
    yield m
    m.close()


def send_one_per_batch(cfg: KafkaSettings, topic: str, per_partition: dict[int, int]) -> None:
    """``n`` records to each partition, each in a batch of its own (flush after every send)."""
    p = KafkaProducer(bootstrap_servers=cfg.bootstrap, linger_ms=0)
    for partition, n in per_partition.items():
        for i in range(n):
            p.send(topic, f"m{i}".encode(), partition=partition)
            p.flush()
    p.close()


def commit(cfg: KafkaSettings, group: str, offsets: dict[TopicPartition, int]) -> None:
    c = KafkaConsumer(bootstrap_servers=cfg.bootstrap, group_id=group, enable_auto_commit=False)
    c.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    c.close()


def exported(stage: str, topic: str, partition: int) -> float | None:
    return metrics.REGISTRY.get_sample_value(
        "newsflow_consumer_lag", {"stage": stage, "topic": topic, "partition": str(partition)}
    )


def test_every_stage_has_lag_per_partition_even_with_no_worker_running(
    kafka: KafkaSettings, monitor: LagMonitor
) -> None:
    tn = names(kafka.topic_prefix)
    rows = monitor.update()
    expected = {(st, tn.of(t), p) for st in STAGES for t in SOURCES[st] for p in range(3)}
    assert {(r.stage, r.topic, r.partition) for r in rows} == expected
    for stage, topic, partition in expected:
        assert exported(stage, topic, partition) == 0, "an empty partition never committed to is no lag"


def test_a_stuck_stage_shows_growing_lag_while_the_others_stay_caught_up(
    kafka: KafkaSettings, monitor: LagMonitor
) -> None:
    tn = names(kafka.topic_prefix)
    raw = tn.raw
    send_one_per_batch(kafka, raw, {0: 4, 1: 2})
    monitor.update()
    assert [exported("dedupe", raw, p) for p in range(3)] == [4, 2, 0], "never committed: all of it waits"

    # The dedupe group reads and commits part of it, then gets stuck (commits no more) while input goes on.
    commit(
        kafka, group_id(kafka.topic_prefix, "dedupe"), {TopicPartition(raw, 0): 3, TopicPartition(raw, 1): 2}
    )
    monitor.update()
    assert [exported("dedupe", raw, p) for p in range(3)] == [1, 0, 0]
    send_one_per_batch(kafka, raw, {0: 3, 2: 5})
    monitor.update()
    assert [exported("dedupe", raw, p) for p in range(3)] == [4, 0, 5], "lag grows with no fetch by the stage"
    send_one_per_batch(kafka, raw, {1: 2})
    monitor.update()
    assert [exported("dedupe", raw, p) for p in range(3)] == [4, 2, 5]
    # Other stages' lag is their own group's: enrich reads unique, nothing there.
    assert all(exported("enrich", tn.unique, p) == 0 for p in range(3))


def test_index_lag_covers_both_topics_it_reads(kafka: KafkaSettings, monitor: LagMonitor) -> None:
    tn = names(kafka.topic_prefix)
    send_one_per_batch(kafka, tn.enriched, {0: 2})
    send_one_per_batch(kafka, tn.duplicates, {2: 1})
    monitor.update()
    assert exported("index", tn.enriched, 0) == 2
    assert exported("index", tn.duplicates, 2) == 1
    assert exported("dedupe", tn.enriched, 0) is None, "a stage only has lag on the topics it reads"


def test_tansu_under_reports_the_end_of_a_partition_written_in_multi_record_batches(
    kafka: KafkaSettings, monitor: LagMonitor
) -> None:
    # Pins the embedded broker's known ListOffsets bug (README "Operations"): if this fails, Tansu was fixed and
    # the README's caveat on the embedded stack's lag can go.
    tn = names(kafka.topic_prefix)
    p = KafkaProducer(bootstrap_servers=kafka.bootstrap, linger_ms=200)
    for i in range(10):
        p.send(tn.inbox, f"m{i}".encode(), partition=0)
    p.flush()
    p.close()
    (row,) = [r for r in monitor.update() if r.topic == tn.inbox and r.partition == 0]
    assert row.lag == 1, f"Tansu answered end={row.end} for a 10-record batch (real end 10)"


def test_with_the_end_probe_the_lag_is_exact_on_tansu_whatever_the_batches(kafka: KafkaSettings) -> None:
    tn = names(kafka.topic_prefix)
    p = KafkaProducer(bootstrap_servers=kafka.bootstrap, linger_ms=200)
    for i in range(10):
        p.send(tn.inbox, f"m{i}".encode(), partition=0)
    p.flush()
    for i in range(3):  # then three more, in one batch of their own
        p.send(tn.inbox, f"n{i}".encode(), partition=0)
    p.flush()
    p.close()
    send_one_per_batch(kafka, tn.inbox, {1: 2})
    commit(kafka, group_id(kafka.topic_prefix, "ingest"), {TopicPartition(tn.inbox, 0): 4})
    probing = LagMonitor(kafka.model_copy(update={"lag_probe_end": True}))
    try:
        rows = {(r.topic, r.partition): r.lag for r in probing.update() if r.stage == "ingest"}
    finally:
        probing.close()
    assert rows == {(tn.inbox, 0): 13 - 4, (tn.inbox, 1): 2, (tn.inbox, 2): 0}


def test_a_broker_that_is_gone_leaves_the_last_values_and_raises_nothing(stack: Stack) -> None:
    cfg = KafkaSettings(bootstrap="127.0.0.1:1", topic_prefix="t" + uuid.uuid4().hex[:10])
    m = LagMonitor(cfg)
    try:
        assert m.update() == []
    finally:
        m.close()


def run_topics(cfg: KafkaSettings, *args: str) -> tuple[int, dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")} | {
        "NEWSFLOW_KAFKA__BOOTSTRAP": cfg.bootstrap or "",
        "NEWSFLOW_KAFKA__TOPIC_PREFIX": cfg.topic_prefix,
        "NEWSFLOW_KAFKA__PARTITIONS": str(cfg.partitions),
    }
    r = subprocess.run(
        [sys.executable, "-m", "services.cli", "topics", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])


def test_newsflow_topics_creates_every_missing_topic_with_the_partitions_asked_for(stack: Stack) -> None:
    cfg = KafkaSettings(
        bootstrap=stack.broker.bootstrap, topic_prefix="t" + uuid.uuid4().hex[:10], partitions=2
    )
    code, out = run_topics(cfg, "--partitions", "6")
    assert code == 0, out
    tn = names(cfg.topic_prefix)
    assert out["created"] == {t: 6 for t in tn.all()}
    admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap)
    try:
        assert {d["name"]: len(d["partitions"]) for d in admin.describe_topics(tn.all())} == {
            t: 6 for t in tn.all()
        }
    finally:
        admin.close()
    code, out = run_topics(cfg)
    assert code == 0 and out["created"] == {} and out["grown"] == {}, "a second run changes nothing"


def test_newsflow_topics_reports_a_broker_that_cannot_add_partitions(kafka: KafkaSettings) -> None:
    # Tansu has no CreatePartitions: the command says so and exits 1 (on Kafka the same call grows the topics).
    code, out = run_topics(kafka, "--partitions", "6")
    assert code == 1
    assert "CreatePartitions" in str(out["error"])


def test_a_running_worker_serves_the_lag_of_every_stage_including_those_without_a_worker(
    stack: Stack, tmp_path: Path
) -> None:
    from tests.integration.test_worker_logs import start_index_worker

    with start_index_worker(stack, tmp_path, {"NEWSFLOW_KAFKA__LAG_INTERVAL_S": "1"}) as (settings, port, _):
        tn = names(settings.kafka.topic_prefix)
        send_one_per_batch(settings.kafka, tn.raw, {0: 3})  # no dedupe worker runs: all of it waits
        deadline = time.monotonic() + 120
        seen: dict[tuple[str, str], float] = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
            except OSError:  # not listening yet
                time.sleep(0.5)
                continue
            seen = {}
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == "newsflow_consumer_lag":
                        key = (sample.labels["stage"], sample.labels["topic"])
                        seen[key] = seen.get(key, 0) + sample.value
            if seen.get(("dedupe", tn.raw)) == 3:
                break
            time.sleep(0.5)
        assert seen.get(("dedupe", tn.raw)) == 3, seen
        assert {stage for stage, _ in seen} == set(STAGES), "every stage, whichever worker serves it"
