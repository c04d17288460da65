"""``newsflow extract``: run the ingest parsing offline on HTML pages and print what it finds.

    newsflow extract --json page.html other.html.gz pages/     # one JSON line per file
    newsflow extract page.html                                  # a short human summary per file

The lead's ``services/cli.py`` calls ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import TYPE_CHECKING, Any

from services.common.records import Article, Rejected, utcnow
from services.common.settings.ingest import IngestSettings
from services.ingest import logic
from services.ingest.reader import Refusals, read_inputs

if TYPE_CHECKING:
    from services.common.settings import Settings

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz")


def extract_file(source: str, data: bytes, cfg: IngestSettings, url: str | None = None) -> dict[str, Any]:
    """What ingest makes of one HTML file, as the JSON line ``newsflow extract --json`` prints."""
    results = logic.parse_bytes(data, source, uuid.uuid4().hex, utcnow(), cfg, kind="html", url=url)
    got = results[0] if results else Rejected(reason="no-records")
    if isinstance(got, Rejected):
        return {"source": source, "error": got.reason, "detail": got.detail}
    assert isinstance(got, Article)
    return {
        "source": source,
        "url": got.canonical_url or got.url,
        "title": got.title,
        "text": got.body,
        "published_at": got.published_at.isoformat() if got.published_at else None,
        "language": got.language,
    }


def cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    cfg = settings.ingest
    failed = 0
    refusals = Refusals()
    for got in read_inputs(args.paths, cfg, refusals, suffixes=HTML_SUFFIXES):
        if isinstance(got, Rejected):
            source = got.trace.source if got.trace else "?"
            out: dict[str, Any] = {"source": source, "error": got.reason, "detail": got.detail}
        else:
            source = got.source
            out = extract_file(source, got.data, cfg, url=args.url)
        failed += "error" in out
        if args.json:
            print(json.dumps(out, ensure_ascii=False), flush=True)
        elif "error" in out:
            print(f"{source}: {out['error']} ({out['detail']})", flush=True)
        else:
            print(
                f"{source}: [{out['language'] or '?'}] {out['title'][:80]!r} {len(out['text'])} chars, "
                f"published {out['published_at'] or '?'}, {out['url'] or 'no URL'}",
                flush=True,
            )
    if summary := refusals.summary():
        print(summary, file=sys.stderr)
    if failed:
        print(f"{failed} file(s) without an article", file=sys.stderr)
    return 1 if failed else 0


def register(subparsers: Any) -> None:
    """Add ``extract`` to ``newsflow``'s subcommands."""
    p = subparsers.add_parser("extract", help="extract articles from .html/.html.gz files offline (no stack)")
    p.add_argument("paths", nargs="+", help="HTML files or directories (walked for .html/.htm/.html.gz)")
    p.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    p.add_argument("--url", help="the URL the page(s) came from (resolves relative canonical links)")
    p.set_defaults(func=cmd_extract)
