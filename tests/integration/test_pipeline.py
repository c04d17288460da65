"""The walking skeleton through the real broker and search server, four separate worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.records import Article, IndexedAck, Trace
from services.common.topics import names
from services.ops.embedded import Stack
from tests.conftest import REPO, SEEDS
from tests.harness import Pipeline, cli_env, make_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline(stack: Stack, tmp_path: Path) -> Iterator[Pipeline]:
    p = make_pipeline(stack, tmp_path).start()
    yield p
    p.stop()


def _accounted_sources(docs: list[dict]) -> list[str]:
    out = [d["source"] for d in docs]
    for d in docs:
        out += [x["source"] for x in d.get("duplicates") or []]
    return out


def test_seeds_go_end_to_end_through_four_worker_processes(pipeline: Pipeline) -> None:
    assert sorted(w.stage for w in pipeline.running.workers) == ["dedupe", "enrich", "index", "ingest"]
    assert len({w.proc.pid for w in pipeline.running.workers}) == 4
    pipeline.send_paths(SEEDS)
    tracker = pipeline.wait()
    assert tracker.dead == []
    docs = pipeline.documents()
    seeds = sorted(str(SEEDS / p.name) for p in SEEDS.iterdir())
    assert sorted(_accounted_sources(docs)) == seeds, "each seed is a document or a recorded duplicate"
    persons = {e["name"] for d in docs for e in d["entities"] if e["type"] == "PERSON"}
    assert "Vladimir Putin" in persons
    feb = [d for d in docs if d["source"].startswith(str(SEEDS / "003_"))]
    assert feb and feb[0]["published_at"].startswith("2022-02-14")


def acks_per_input(pipeline: Pipeline) -> Counter[str]:
    """Every ack on the indexed topic so far, counted per ingest id (a redelivery is acked again)."""
    from services.common.kafka import consumer

    c = consumer(
        pipeline.settings.kafka, names(pipeline.settings.kafka.topic_prefix).indexed, consumer_timeout_ms=2000
    )
    out = Counter(IndexedAck.model_validate_json(m.value).trace.ingest_id for m in c)
    c.close()
    return out


def test_ingesting_the_seeds_again_adds_nothing_and_a_copy_under_another_name_is_an_exact_duplicate(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.send_paths(SEEDS)
    pipeline.wait()
    first = {d["_id"]: d["duplicates"] for d in pipeline.documents()}
    pipeline.send_paths(SEEDS)  # the same files: the same inputs (their ids are the files' own)
    deadline = time.monotonic() + 120
    while min(acks_per_input(pipeline)[iid] for iid in set(pipeline.sent)) < 2:  # each processed again
        assert time.monotonic() < deadline, "the second run was not processed"
        time.sleep(1)
    assert {d["_id"]: d["duplicates"] for d in pipeline.documents()} == first, (
        "nothing new: no document, no entry"
    )
    copy = tmp_path / "copy-of-001.txt"
    copy.write_bytes(next(SEEDS.glob("001_*")).read_bytes())
    pipeline.send_paths(copy)
    pipeline.wait()
    exact = [x for d in pipeline.documents() for x in d["duplicates"] if x["kind"] == "exact"]
    assert [x["source"] for x in exact] == [str(copy)], (
        "a copy under another name is an exact duplicate, once"
    )


def test_invalid_messages_are_dead_lettered_and_the_workers_keep_going(pipeline: Pipeline) -> None:
    tn = names(pipeline.settings.kafka.topic_prefix)
    # Garbage straight onto the raw topic (what a buggy producer would write) and a record of the wrong shape.
    pipeline.producer.send(tn.raw, key=b"x", value=b"\x00\xffnot json")
    pipeline.producer.send(tn.raw, key=b"y", value=json.dumps({"id": "y", "body": 3}).encode())
    bad_file = pipeline.send_bytes("junk.txt", b"\x00\x01\x02\x03binary")
    empty_json = pipeline.send_bytes("empty.json", b'{"title": "no body here"}')
    pipeline.send_paths(SEEDS / "003_053fd823a4b97cd3.txt")
    tracker = pipeline.wait()
    reasons = {(d.trace.ingest_id if d.trace else None): d.reason for d in tracker.dead}
    assert reasons[bad_file] == "binary-input"
    assert reasons[empty_json] == "missing-body"
    docs = pipeline.documents()
    assert [d["source"] for d in docs] == [str(SEEDS / "003_053fd823a4b97cd3.txt")]
    # The dedupe worker dead-lettered the two broken raw messages with their origin, and is still alive.
    from services.common.kafka import consumer
    from services.common.records import DeadLetter

    c = consumer(pipeline.settings.kafka, tn.deadletter, consumer_timeout_ms=3000)
    dls = [DeadLetter.model_validate_json(m.value) for m in c]
    c.close()
    at_dedupe = [d for d in dls if d.stage == "dedupe"]
    assert sorted(d.reason for d in at_dedupe) == ["invalid-json", "invalid-record"]
    assert all(d.origin and d.origin.topic == tn.raw for d in at_dedupe)
    assert all(w.proc.poll() is None for w in pipeline.running.workers)


def test_demo_json_reports_what_the_index_holds(tmp_path: Path) -> None:
    env = cli_env()
    env["NEWSFLOW_DATA_DIR"] = str(tmp_path / "nf")
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--json", "seeds/"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["articles_in"] == 4
    assert report["dead_lettered"] == 0
    assert report["indexed"] == len(report["documents"])
    assert report["indexed"] + sum(len(d["duplicates"]) for d in report["documents"]) == 4
    for d in report["documents"]:
        assert d["source"].startswith("seeds/")
        assert set(d) >= {
            "id",
            "source",
            "title",
            "published_at",
            "language",
            "event_id",
            "duplicates",
            "entities",
        }
    docs = {d["source"][len("seeds/") : len("seeds/") + 3]: d for d in report["documents"]}
    # Issue 3: a copy, a rewrite, a different report of the same event and a different event told apart.
    assert sorted(docs) == ["000", "001", "003"]
    assert [(x["source"], x["kind"]) for x in docs["001"]["duplicates"]] == [
        ("seeds/002_5f5ed081773a5e03.txt", "rewrite")
    ]
    assert docs["000"]["event_id"] == docs["001"]["event_id"] != docs["003"]["event_id"]
    assert docs["003"]["published_at"] == "2022-02-14T00:00:00Z"
    events = {e["event_id"]: e for e in report["events"]}
    minsk = events[docs["000"]["event_id"]]
    assert minsk["articles"] == 2 and minsk["copies"] == 1 and report["events"][0] is minsk  # largest first
    assert sorted(s[len("seeds/") : len("seeds/") + 3] for s in minsk["sources"]) == ["000", "001"]
    assert events[docs["003"]["event_id"]]["articles"] == 1
    # Issue 6: counts from a terms aggregation on the canonical id, run against the index.
    counts = {e["name"]: e["documents"] for e in report["top_entities"]}
    types = {e["name"]: e["type"] for e in report["top_entities"]}
    assert counts["Vladimir Putin"] == 3 and types["Vladimir Putin"] == "PERSON"
    lukashenko = [n for n in counts if "Lukashenk" in n]
    zelensky = [n for n in counts if "Zelensk" in n]
    assert len(lukashenko) == 1 and counts[lukashenko[0]] == 3, "one person however the outlet spells him"
    assert len(zelensky) == 1 and counts[zelensky[0]] == 2, "the rewrite is not counted twice"


def test_raw_records_round_trip_through_json() -> None:
    a = Article(id="a", trace=Trace(ingest_id="i", source="s"), source="s", body="text")
    assert Article.model_validate_json(a.to_json()) == a
