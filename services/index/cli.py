"""``newsflow search``, ``newsflow reindex`` and ``newsflow replay``."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from services.common.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("search", help="search the running stack: one hit per story, highlights, facets")
    p.add_argument(
        "query", nargs="?", default="*", help="words to look for ('*', the default, for everything)"
    )
    p.add_argument(
        "--entity",
        help="only documents mentioning this entity: its id or knowledge-base id (geonames:703448, wikidata:Q7747)",
    )
    p.add_argument("--since", help="published at or after (ISO date or date math, e.g. now-7d)")
    p.add_argument(
        "--event",
        help="every article of this event (an event_id; events merged into it included), oldest first",
    )
    p.add_argument("--size", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("reindex", help="copy into the next versioned index and swap the alias atomically")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("replay", help="re-feed a topic's messages to its consumers (idempotent downstream)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--from-beginning", action="store_true")
    g.add_argument("--since", help="ISO time: messages with a timestamp at or after it")
    p.add_argument(
        "--topic",
        default="enriched",
        choices=["inbox", "raw", "unique", "enriched", "duplicates"],
        help="which topic to re-feed (default: enriched, i.e. rebuild the index)",
    )
    p.set_defaults(func=cmd_replay)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.es import sync_client
    from services.index.search import search
    from services.ops.supervisor import stack_settings

    cfg = stack_settings(settings)
    es = sync_client(cfg.es)
    try:
        result = search(
            es,
            cfg.es.alias,
            args.query,
            entity=args.entity,
            since=args.since,
            size=args.size,
            event=args.event,
            dedupe_index=cfg.es.dedupe_index,
        )
    finally:
        es.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Every article field is shown as plain Text, never parsed as rich markup ("[...]" in a title is text), and
    # highlights are the server's HTML-encoded fragments turned back into text with the matches in bold.
    console = Console()
    console.print(f"{result['total_documents']} documents, {result['stories']} stories")
    t = Table("published", "title", "source", "copies", "highlight")
    for h in result["hits"]:
        fragments = h["highlight"].get("body", h["highlight"].get("title", []))
        t.add_row(
            (h["published_at"] or "")[:10],
            Text((h["title"] or "")[:60]),
            Text(h["source"] or ""),
            str(h["duplicate_count"]),
            highlight_text(fragments, limit=160),
        )
    console.print(t)
    for name, buckets in result["facets"].items():
        if buckets:
            line = Text(f"{name}: ", style="bold")
            line.append(", ".join(f"{b['key']} ({b['documents']})" for b in buckets))
            console.print(line)
    return 0


def highlight_text(fragments: list[str], limit: int) -> Any:
    """HTML-encoded highlight fragments (``<em>`` the only markup) as rich Text: entities decoded, matches bold."""
    import html
    import re

    from rich.text import Text

    out = Text()
    for i, fragment in enumerate(fragments):
        if i:
            out.append(" … ")
        for j, piece in enumerate(re.split(r"</?em>", fragment)):
            out.append(html.unescape(piece), style="bold" if j % 2 else "")
    out.truncate(limit)
    return out


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.es import sync_client
    from services.index.template import reindex
    from services.ops.supervisor import stack_settings

    cfg = stack_settings(settings)
    es = sync_client(cfg.es)
    try:
        old, new, count = reindex(es, cfg.es)
    finally:
        es.close()
    print(json.dumps({"from": old, "to": new, "documents": count, "alias": cfg.es.alias}))
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from services.ops.replay import replay
    from services.ops.supervisor import stack_settings

    cfg = stack_settings(settings)
    since = None
    if args.since:
        since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    n = replay(cfg, args.topic, since)
    print(json.dumps({"topic": args.topic, "replayed": n}))
    return 0
