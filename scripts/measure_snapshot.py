"""Snapshot and restore of the embedded search server for N synthetic articles: time, size, memory.

    .venv/bin/python scripts/measure_snapshot.py [--articles 10000]

Articles of ~3 KB (the size of a news story; words of the seed articles in random order) with the index's real mapping, plus dedupe state entries as the
dedupe worker writes them (a signature with the body and a decision per article), written straight into a fresh osmem;
then ``services.ops.snapshot.take`` (timed, size on disk), and a second osmem seeded from the snapshot (time to
its ready line, resident memory once loaded). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

from services.common.es import sync_client
from services.common.settings import ElasticSettings
from services.dedupe.store import DEDUPE_MAPPING
from services.index.template import ensure_write_alias, install_template
from services.ops import snapshot
from services.ops.embedded import SearchServer

REPO = Path(__file__).resolve().parent.parent
# the seed articles' words: a real English vocabulary (index size depends on it), drawn at random per article
WORDS = sorted({w for f in (REPO / "seeds").glob("*.txt") for w in re.findall(r"[A-Za-z]+", f.read_text())})


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def article(i: int, rng: random.Random) -> dict[str, Any]:
    body = " ".join(rng.choice(WORDS) for _ in range(500))  # ~3 KB
    return {
        "id": f"a{i:08d}",
        "title": " ".join(rng.choice(WORDS) for _ in range(9)),
        "body": body,
        "source": f"corpus/{i:08d}.json",
        "language": "en",
        "published_at": "2024-03-01T12:00:00+00:00",
        "ingested_at": "2024-03-01T12:00:01+00:00",
        "indexed_at": "2024-03-01T12:00:02+00:00",
        "event_id": f"e{i // 3:08d}",
        "pending": False,
        "duplicate_count": 0,
        "duplicates": [],
        "entities": [{"id": "Q1", "name": "Olaf Scholz", "type": "PERSON", "mentions": 2}],
        "entity_ids": ["Q1"],
        "persons": ["Olaf Scholz"],
        "persons_ids": ["Q1"],
        "content_hash": f"h{i:016d}",
        "ingest_key": f"k{i:08d}:0",
    }


def dedupe_docs(i: int, body: str, rng: random.Random) -> list[dict[str, Any]]:
    """A signature (with the body: fingerprints are recomputed from it) and a decision, as the store writes them."""
    key = f"k{i:08d}:0"
    common = {"ingest_key": key, "article_id": f"a{i:08d}", "source": f"corpus/{i:08d}.json"}
    at = {"at": "2024-03-01T12:00:00+00:00", "ingested_at": "2024-03-01T12:00:01+00:00"}
    return [
        {
            "_id": f"sig:{key}",
            "type": "sig",
            **common,
            **at,
            "keys": [f"{rng.getrandbits(64):016x}" for _ in range(18)],
            "terms": ["olaf scholz|2024-03"],
            "body": body,
        },
        {
            "_id": f"dec:{key}",
            "type": "dec",
            **common,
            **at,
            "verdict": "unique",
            "event_id": f"e{i // 3:08d}",
        },
    ]


def fill(es: Elasticsearch, cfg: ElasticSettings, n: int) -> float:
    install_template(es, cfg)
    ensure_write_alias(es, cfg)
    es.indices.create(index=cfg.dedupe_index, mappings=DEDUPE_MAPPING, settings={"number_of_replicas": 0})
    rng = random.Random(7)
    t0 = time.monotonic()

    def actions() -> Iterator[dict[str, Any]]:
        for i in range(n):
            a = article(i, rng)
            yield {"_index": cfg.alias, "_id": a["id"], "_source": a}
            for d in dedupe_docs(i, a["body"], rng):
                yield {"_index": cfg.dedupe_index, "_id": d.pop("_id"), "_source": d}

    helpers.bulk(es.options(request_timeout=120), actions(), chunk_size=500)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=int, default=10_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nf-snap-"))
    server = SearchServer().start(work / "logs")
    cfg = ElasticSettings(url=server.url, compat="osmem")
    es = sync_client(cfg)
    try:
        fill_s = fill(es, cfg, args.articles)
        rss_filled = rss_mb(server.proc.pid) if server.proc else 0.0
        snap = snapshot.take(es, work / "data")
    finally:
        es.close()
        server.stop()
    t0 = time.monotonic()
    checked = snapshot.load(work / "data")
    verify_s = time.monotonic() - t0
    assert checked is not None
    t0 = time.monotonic()
    restored = SearchServer(seeds=checked.parts).start(work / "logs")
    restore_s = time.monotonic() - t0
    es2 = sync_client(ElasticSettings(url=restored.url, compat="osmem"))
    try:
        count = es2.count(index=cfg.alias)["count"]
        rss_restored = rss_mb(restored.proc.pid) if restored.proc else 0.0
    finally:
        es2.close()
        restored.stop()
    per_k = 1000 / args.articles
    print(
        json.dumps(
            {
                "articles": args.articles,
                "documents": snap.total,
                "write_s": round(fill_s, 1),
                "snapshot_s": snap.seconds,
                "snapshot_mb": round(snap.bytes / 1e6, 1),
                "verify_s": round(verify_s, 2),
                "restore_s": round(restore_s, 1),
                "restored_articles": count,
                "rss_mb_filled": rss_filled,
                "rss_mb_restored": rss_restored,
                "rss_mb_per_1k_articles": round(rss_restored * per_k, 1),
                "snapshot_s_per_10k": round(snap.seconds * 10_000 / args.articles, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
