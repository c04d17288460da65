"""``newsflow dedupe PATH...``: the dedupe verdicts offline (no servers), one JSON line per input article.

Same decision logic as the worker, with the in-memory store; arrival order is input order (directories in sorted
path order).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from services.common.records import Article, Rejected
from services.common.settings import Settings
from services.dedupe.engine import Outcome
from services.dedupe.offline import OfflineDeduper

BATCH = 200


def register(sub: Any) -> None:
    """Add the ``dedupe`` command to the ``newsflow`` parser."""
    p = sub.add_parser(
        "dedupe", help="judge files offline: unique or duplicate (exact/near/rewrite), and events"
    )
    p.add_argument("paths", nargs="+", help="files or directories (walked in sorted path order)")
    p.add_argument(
        "--json", action="store_true", help="one JSON object a line (the default output, explicit)"
    )
    p.set_defaults(func=cmd_dedupe)


def read_articles(paths: list[str], settings: Settings, now: datetime) -> Iterator[Article | Rejected]:
    """Articles of the inputs in order, each with an ingest key that orders it by input position."""
    from services.ingest.logic import parse_bytes
    from services.ingest.submit import expand

    for n, (source, path) in enumerate(expand(paths)):
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Rejected(reason="unreadable", detail=f"{source}: {exc}")
            continue
        yield from parse_bytes(data, source, f"cli{n:08d}", now, settings.ingest)


def line(o: Outcome) -> dict[str, Any]:
    d = o.decision
    if d is None:
        assert isinstance(o.result, Rejected)
        return {
            "source": o.article.source,
            "verdict": "rejected",
            "kind": None,
            "duplicate_of": None,
            "similarity": None,
            "event_id": None,
            "reason": o.result.reason,
            "detail": o.result.detail,
        }
    return {
        "source": o.article.source,
        "verdict": d.verdict,
        "kind": d.kind,
        "duplicate_of": d.original_source if d.verdict == "duplicate" else None,
        "similarity": d.similarity,
        "event_id": d.event_id,
    }


def cmd_dedupe(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    deduper = OfflineDeduper(settings.dedupe)
    pending: list[Article] = []
    out = sys.stdout

    def run() -> None:
        for o in deduper.decide_batch(pending, now):
            out.write(json.dumps(line(o), ensure_ascii=False) + "\n")
        pending.clear()

    for item in read_articles(args.paths, settings, now):
        if isinstance(item, Rejected):
            run()  # keep input order
            src = item.trace.source if item.trace else None
            out.write(
                json.dumps(
                    {
                        "source": src,
                        "verdict": "rejected",
                        "kind": None,
                        "duplicate_of": None,
                        "similarity": None,
                        "event_id": None,
                        "reason": item.reason,
                        "detail": item.detail,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            continue
        pending.append(item)
        if len(pending) >= BATCH:
            run()
    run()
    out.flush()
    return 0
