"""The stream the network-fault tests send (short distinct stories, exact copies under other URLs, one bad
input) and what they check in the index afterwards."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.ingest.logic import article_id
from services.ingest.urls import canonical_url
from tests.netfault.stack import NetPipeline

SYLLABLES = ["ka", "lo", "mi", "ren", "tus", "vo", "shi", "par", "de", "nel", "qua", "bri", "so", "gan", "te"]


def story(i: int) -> dict[str, str]:
    """A short distinct record (3 sentences of random words): no two are copies, near-copies or rewrites."""
    rng = random.Random(i * 7919 + 18)

    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))

    body = " ".join(" ".join(word() for _ in range(9)).capitalize() + "." for _ in range(3))
    return {"title": f"Dispatch {i} {word()}", "body": body, "url": f"https://wire.example/{i}"}


def copy_of(i: int, n: int = 1) -> dict[str, str]:
    """The same story under another address: an exact duplicate (same text), another article id."""
    return story(i) | {"url": f"https://mirror{n}.example/{i}"}


def id_of(rec: dict[str, str]) -> str:
    return article_id(canonical_url(rec["url"]), rec["body"])


@dataclass
class Sent:
    """What went in: each story's arrivals (article id, ingest key); the first is the one sent first."""

    groups: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)

    def inputs(self) -> int:
        return sum(len(g) for g in self.groups.values())


def send(p: NetPipeline, sent: Sent, recs: list[tuple[int, dict[str, str]]], per_file: int = 1) -> None:
    """Send (story number, record) pairs, ``per_file`` records per input."""
    for start in range(0, len(recs), per_file):
        chunk = recs[start : start + per_file]
        iid = p.send_json(f"nf-{chunk[0][0]}-{start}.jsonl", [r for _, r in chunk])
        for pos, (i, rec) in enumerate(chunk):
            sent.groups.setdefault(i, []).append((id_of(rec), f"{iid}:{pos}"))
    p.producer.flush()


def send_stories(p: NetPipeline, sent: Sent, lo: int, hi: int, per_file: int = 1) -> None:
    send(p, sent, [(i, story(i)) for i in range(lo, hi)], per_file)


def send_copies(p: NetPipeline, sent: Sent, numbers: list[int], per_file: int = 1, n: int = 1) -> None:
    send(p, sent, [(i, copy_of(i, n)) for i in numbers], per_file)


def send_bad(p: NetPipeline, sent: Sent) -> None:
    """Genuinely bad input (an empty file): the one dead letter a run may have."""
    sent.bad.add(p.send_bytes("nf-empty.txt", b""))
    p.producer.flush()


def check_index(p: NetPipeline, sent: Sent) -> dict[str, Any]:
    """The index holds every story exactly once, each other arrival of it recorded once on that document,
    nothing else; the only dead letters are the bad inputs. Returns figures for the report."""
    assert p.tracker is not None
    docs = p.documents()
    stubs = [d["_id"] for d in docs if d.get("pending")]
    assert not stubs, f"{len(stubs)} duplicates recorded on an original that never arrived: {stubs[:5]}"
    by_id = {d["_id"]: d for d in docs}
    assert len(by_id) == len(docs)
    keys = Counter(ref["ingest_key"] for d in docs for ref in d.get("duplicates") or [])
    twice = [k for k, n in keys.items() if n > 1]
    assert not twice, f"{len(twice)} duplicates recorded more than once: {twice[:5]}"
    lost: list[int] = []
    both: list[int] = []
    flipped = 0
    expected_docs: set[str] = set()
    for i, arrivals in sent.groups.items():
        ids = {aid for aid, _ in arrivals}
        indexed = ids & by_id.keys()
        if not indexed:
            lost.append(i)
            continue
        if len(indexed) > 1:
            both.append(i)
            continue
        (doc_id,) = indexed
        expected_docs.add(doc_id)
        if doc_id != arrivals[0][0]:
            flipped += 1
        recorded = {ref["ingest_key"] for ref in by_id[doc_id].get("duplicates") or []}
        others = {key for aid, key in arrivals if aid != doc_id}
        assert recorded == others, f"story {i}: duplicates {sorted(recorded)} != arrivals {sorted(others)}"
    assert not lost, f"{len(lost)} stories lost, e.g. {lost[:5]}"
    assert not both, f"{len(both)} stories indexed twice (unique and duplicate), e.g. {both[:5]}"
    extra = set(by_id) - expected_docs
    assert not extra, f"{len(extra)} documents nobody sent: {sorted(extra)[:5]}"
    dead = {d.trace.ingest_id for d in p.tracker.dead if d.trace is not None}
    assert dead == sent.bad, (
        f"dead letters beyond the bad input: {[(d.stage, d.reason) for d in p.tracker.dead]}"
    )
    return {
        "documents": len(docs),
        "duplicates": sum(keys.values()),
        "dead_letters": len(p.tracker.dead),
        "flipped": flipped,
    }


def check_healthy(p: NetPipeline, timeout_s: float = 120) -> float:
    """Every worker alive and ready again (and, where the worker serves it, reaching the broker); seconds."""
    t0 = time.monotonic()
    p.wait_ready(timeout_s=timeout_s)
    for w in p.workers:
        while True:
            up = w.metric("newsflow_broker_up")
            if up is None or up == 1.0:
                break
            if time.monotonic() - t0 > timeout_s:
                raise AssertionError(f"{w.node.name}: newsflow_broker_up still {up}")
            time.sleep(0.5)
    return time.monotonic() - t0


def report(name: str, **figures: Any) -> None:
    parts = " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())
    print(f"\nNETFAULT {name}: {parts}", flush=True)
