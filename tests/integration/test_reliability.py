"""Nothing lost, nothing doubled, nothing bad gets in — proven through the real broker and search server.

Run alone with ``pytest -m reliability``."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from services.common.kafka import consumer
from services.common.records import DeadLetter
from services.common.topics import STAGES, names
from services.ingest.logic import article_id
from services.ingest.urls import canonical_url
from services.ops.embedded import Stack
from tests.conftest import REPO
from tests.harness import Pipeline, cli_env, make_pipeline
from tests.proxy import FaultProxy

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "tus",
    "vo",
    "shi",
    "par",
    "de",
    "nel",
    "qua",
    "bri",
    "so",
    "gan",
    "te",
    "ux",
]


def story(i: int) -> dict[str, str]:
    """A distinct record: random words, so no two are copies, near-copies or rewrites of each other."""
    rng = random.Random(i * 7919)

    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))

    body = " ".join(" ".join(word() for _ in range(12)).capitalize() + "." for _ in range(5))
    return {"title": f"Report {i} {word()}", "body": body, "url": f"https://news.example/{i}"}


def doc_id(i: int) -> str:
    s = story(i)
    return article_id(canonical_url(s["url"]), s["body"])


def send(p: Pipeline, lo: int, hi: int, per_file: int = 1) -> None:
    for start in range(lo, hi, per_file):
        lines = [json.dumps(story(i)).encode() for i in range(start, min(hi, start + per_file))]
        p.send_bytes(f"batch-{start}.jsonl", b"\n".join(lines))
    p.flush()


def assert_exactly_once(p: Pipeline, n: int) -> None:
    docs = p.documents()
    ids = sorted(d["_id"] for d in docs)
    assert len(ids) == len(set(ids))
    missing = {doc_id(i) for i in range(n)} - set(ids)
    assert not missing, f"{len(missing)} articles missing"
    assert len(ids) == n, "nothing doubled"
    assert all(d["duplicates"] == [] for d in docs), "a redelivery is never recorded as a duplicate"


def metric(url: str, name: str) -> float | None:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_sigkill_of_each_worker_type_in_turn_mid_stream_loses_and_doubles_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    p = make_pipeline(stack, tmp_path).start()
    try:
        n, sent = 2000, 0
        step = n // (len(STAGES) + 1)
        for stage in STAGES:
            send(p, sent, sent + step, per_file=10)
            sent += step
            time.sleep(1.5)  # let the stream reach the worker, then kill it in the middle of it
            p.kill(stage, signal.SIGKILL)
            p.running.start_worker(stage)
        send(p, sent, n, per_file=10)
        tracker = p.wait(timeout_s=600)
        assert tracker.dead == []
        assert_exactly_once(p, n)
    finally:
        p.stop()


def test_adding_and_removing_a_second_worker_mid_stream_loses_and_doubles_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    p = make_pipeline(stack, tmp_path).start()
    try:
        send(p, 0, 400, per_file=10)
        extra = [p.running.start_worker("dedupe"), p.running.start_worker("enrich")]
        send(p, 400, 800, per_file=10)
        time.sleep(12)  # the group rebalances onto the new members while the stream flows
        send(p, 800, 1200, per_file=10)
        for w in extra:
            p.running.stop_worker(w, signal.SIGTERM)
        send(p, 1200, 1600, per_file=10)
        tracker = p.wait(timeout_s=600)
        assert tracker.dead == []
        assert_exactly_once(p, 1600)
    finally:
        p.stop()


def test_a_search_outage_of_30_seconds_pauses_indexing_and_everything_arrives_afterwards(
    stack: Stack, tmp_path: Path
) -> None:
    proxy = FaultProxy(stack.search.url).start()
    p = make_pipeline(stack, tmp_path)
    p.start(env={"index": {"NEWSFLOW_ES__URL": proxy.url, "NEWSFLOW_INDEX__UNREACHABLE_PAUSE_S": "1"}})
    try:
        send(p, 0, 200, per_file=10)
        p.wait_documents(1)  # mid-stream: indexing has begun
        proxy.down()
        send(p, 200, 400, per_file=10)
        time.sleep(30)
        index = p.worker("index")
        assert index.proc.poll() is None, "the index worker waits, it does not die"
        assert metric(index.url, "newsflow_search_up") == 0.0
        proxy.up()
        tracker = p.wait(timeout_s=300)
        assert tracker.dead == []
        assert_exactly_once(p, 400)
        assert metric(index.url, "newsflow_search_up") == 1.0
    finally:
        p.stop()
        proxy.stop()


def test_429_503_and_a_poison_document_are_retried_or_dead_lettered_and_never_block_the_partition(
    stack: Stack, tmp_path: Path
) -> None:
    proxy = FaultProxy(stack.search.url).start()
    poison, flaky, flakier = doc_id(3), doc_id(5), doc_id(8)
    proxy.item_faults = {poison: [400] * 1000, flaky: [429, 429], flakier: [503, 429, 503]}
    proxy.fail_requests = [503]
    p = make_pipeline(stack, tmp_path, partitions=1)  # one partition: the poison is in front of the others
    p.start(env={"index": {"NEWSFLOW_ES__URL": proxy.url, "NEWSFLOW_INDEX__BACKOFF_BASE_S": "0.05"}})
    try:
        send(p, 0, 60)
        tracker = p.wait(timeout_s=180)
        [dead] = tracker.dead
        assert (dead.stage, dead.reason) == ("index", "mapping-error")
        assert dead.origin is not None and dead.origin.topic.endswith(".enriched")
        assert dead.payload and not dead.payload_truncated
        ids = {d["_id"] for d in p.documents()}
        assert ids == {doc_id(i) for i in range(60)} - {poison}
        # The operator fixes the cause and re-drives the dead letter: the document arrives, once.
        proxy.item_faults.clear()
        env = cli_env(p.settings)
        out = subprocess.run(
            [sys.executable, "-m", "services.cli", "dlq", "replay", "--stage", "index"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["replayed"] == 1
        docs = p.wait_documents(60)
        assert sorted(d["_id"] for d in docs) == sorted(doc_id(i) for i in range(60))
    finally:
        p.stop()
        proxy.stop()


def test_a_worker_stops_instead_of_dead_lettering_everything_when_most_messages_fail(
    stack: Stack, tmp_path: Path
) -> None:
    p = make_pipeline(stack, tmp_path).start(stages=["enrich"])
    try:
        tn = names(p.settings.kafka.topic_prefix)
        for i in range(200):
            p.producer.send(tn.unique, key=str(i).encode(), value=b'{"schema": "from a bad deploy"}')
        p.flush()
        enrich = p.worker("enrich")
        enrich.proc.wait(120)
        assert enrich.proc.returncode != 0
        assert "stopping instead of dead-lettering everything" in enrich.log_path.read_text()
        c = consumer(p.settings.kafka, tn.deadletter, consumer_timeout_ms=3000)
        dead = [DeadLetter.model_validate_json(m.value) for m in c]
        c.close()
        assert 0 < len(dead) <= p.settings.dlq_window, "it stopped after one window, not after 200"
    finally:
        p.stop()


def test_a_dead_letter_too_large_to_carry_keeps_a_pointer_to_its_origin(stack: Stack, tmp_path: Path) -> None:
    p = make_pipeline(stack, tmp_path).start(
        stages=["ingest"], env={"ingest": {"NEWSFLOW_DLQ_MAX_PAYLOAD_BYTES": "1024"}}
    )
    try:
        rng = random.Random(1)
        iid = p.send_bytes("junk.txt", bytes(rng.randrange(256) for _ in range(20000)))
        tracker = p.wait(timeout_s=180)
        [dead] = [d for d in tracker.dead if d.trace and d.trace.ingest_id == iid]
        assert dead.reason == "binary-input"
        assert dead.payload_truncated and dead.payload_bytes > 20000 and len(dead.payload) <= 1024
        assert dead.origin is not None and dead.origin.topic.endswith(".inbox") and dead.origin.offset >= 0
    finally:
        p.stop()


def test_secrets_are_never_logged_or_printed(stack: Stack, tmp_path: Path) -> None:
    secrets = {
        "NEWSFLOW_INGEST__PUSH_TOKEN": "tok-8f3a9",
        "NEWSFLOW_ES__PASSWORD": "pw-77c1e",
        "NEWSFLOW_KAFKA__SASL_PASSWORD": "sasl-4b2d",
    }
    p = make_pipeline(stack, tmp_path).start(
        stages=["ingest"],
        env={
            "ingest": {
                "NEWSFLOW_INGEST__PUSH_TOKEN": secrets["NEWSFLOW_INGEST__PUSH_TOKEN"],
                "NEWSFLOW_LOG_LEVEL": "DEBUG",
            }
        },
    )
    try:
        p.send_bytes("bad.json", b"{")
        p.wait(timeout_s=180)
        env = cli_env(p.settings) | secrets
        out = subprocess.run(
            [sys.executable, "-m", "services.cli", "config"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0
        config = json.loads(out.stdout)
        assert config["ingest"]["push_token"] == "**********"
        logs = p.worker("ingest").log_path.read_text()
        for value in secrets.values():
            assert value not in out.stdout + out.stderr + logs
    finally:
        p.stop()
