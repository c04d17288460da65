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
from typing import TYPE_CHECKING, Any

from services.common.records import Article, Rejected
from services.common.settings import Settings
from services.dedupe.engine import Outcome
from services.dedupe.offline import OfflineDeduper

if TYPE_CHECKING:
    from services.ingest.reader import Refusals

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


def read_articles(
    paths: list[str], settings: Settings, now: datetime, refusals: Refusals | None = None
) -> Iterator[Article | Rejected]:
    """Articles of the inputs in order, each with an ingest key that orders it by input position; a file
    that cannot be read is a rejection (reported on stderr, see ``services.ingest.reader``)."""
    from services.ingest.reader import read_articles as read

    return read(paths, settings.ingest, now, refusals, id_prefix="cli")


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
        # why it was matched by exact keys only ("too-short", "boilerplate"), else null
        "reason": d.reason,
        # events found to be this article's event (recorded as merged into it)
        "merged_events": list(d.merges),
    }


def cmd_dedupe(args: argparse.Namespace, settings: Settings) -> int:
    from services.ingest.reader import Refusals

    now = datetime.now(UTC)
    refusals = Refusals()
    deduper = OfflineDeduper(settings.dedupe)
    pending: list[Article] = []
    out = sys.stdout

    def run() -> None:
        for o in deduper.decide_batch(pending, now):
            out.write(json.dumps(line(o), ensure_ascii=False) + "\n")
        pending.clear()

    for item in read_articles(args.paths, settings, now, refusals):
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
    if summary := refusals.summary():
        print(summary, file=sys.stderr)
    return 1 if refusals else 0
