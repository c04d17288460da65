"""Indexing throughput of the bulk writer against bare ``helpers.bulk`` on the same documents and server.

    .venv/bin/python bench/index_bench.py [--docs 3000] [--url http://...]   (default: an embedded osmem)

Prints one JSON object. A benchmark, not a test: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime

from elasticsearch import helpers

from services.common.es import async_client, sync_client
from services.common.records import EnrichedArticle, Entity, Trace
from services.common.settings import ElasticSettings
from services.common.settings.index import IndexSettings
from services.index import logic
from services.index.template import ensure_write_alias, install_template
from services.index.writer import BulkWriter
from services.ops.embedded import SearchServer

NOW = datetime(2024, 1, 1, tzinfo=UTC)
WORDS = [f"w{i}" for i in range(5000)]


def articles(n: int) -> list[EnrichedArticle]:
    rng = random.Random(1)
    out = []
    for i in range(n):
        body = " ".join(rng.choice(WORDS) for _ in range(450))  # ~3 KB, a news article
        ents = [
            Entity(id=f"person:{rng.randrange(300)}", name=f"Person {i % 300}", type="PERSON", mentions=2),
            Entity(id=f"gpe:{rng.randrange(100)}", name=f"Place {i % 100}", type="GPE", mentions=1),
        ]
        out.append(
            EnrichedArticle(
                id=f"a{i}",
                trace=Trace(ingest_id=f"i{i}", source=f"s{i}"),
                source=f"s{i}",
                title=f"Title {i}",
                body=body,
                event_id=f"e{i}",
                content_hash=f"h{i}",
                ingested_at=NOW,
                entities=ents,
            )
        )
    return out


def fresh(cfg: ElasticSettings, name: str) -> ElasticSettings:
    c = cfg.model_copy(update={"alias": name, "index_prefix": name})
    es = sync_client(c)
    install_template(es, c)
    ensure_write_alias(es, c)
    es.close()
    return c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--url")
    args = ap.parse_args()
    server = None
    url = args.url
    if not url:
        server = SearchServer().start()
        url = server.url
    base = ElasticSettings(url=url, compat="osmem" if server else "elasticsearch")
    arts = articles(args.docs)
    try:
        bare_cfg = fresh(base, "bench-bare")
        es = sync_client(bare_cfg)
        actions = [
            {"_op_type": "index", "_index": bare_cfg.alias, "_id": a.id, "_source": logic.to_document(a, NOW)}
            for a in arts
        ]
        t0 = time.perf_counter()
        helpers.bulk(es, actions, chunk_size=500)
        bare = args.docs / (time.perf_counter() - t0)
        es.close()

        ours_cfg = fresh(base, "bench-ours")

        async def run() -> float:
            client = async_client(ours_cfg)
            w = BulkWriter(client, ours_cfg.alias, IndexSettings(), clock=lambda: NOW)
            t0 = time.perf_counter()
            for k in range(0, len(arts), 500):
                res = await w.write(arts[k : k + 500], [])
                assert not res.failed
            rate = args.docs / (time.perf_counter() - t0)
            await client.close()
            return rate

        ours = asyncio.run(run())
        print(
            json.dumps(
                {
                    "docs": args.docs,
                    "bare_helpers_bulk_docs_per_s": round(bare, 1),
                    "newsflow_writer_docs_per_s": round(ours, 1),
                    "ratio": round(ours / bare, 3),
                    "server": "osmem (embedded)" if server else url,
                }
            )
        )
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
