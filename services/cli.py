"""The one command-line entry point: ``newsflow <command>``."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from services.common import lifecycle, logs
from services.common.settings import Settings, get_settings, masked
from services.common.topics import STAGES

log = logging.getLogger("newsflow")

Handler = Callable[[argparse.Namespace, Settings], int]


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    lifecycle.exit_with_supervisor(settings.supervisor.pid)
    from faust import Worker

    logs.setup(settings.log_level, args.stage, settings.log_format)
    agents = importlib.import_module(f"services.{args.stage}.agents")
    app = agents.build(settings)
    # override_logging=False: mode's Worker would otherwise replace the root handlers at start with its own
    # `[ts] [pid] [LEVEL] msg` lines on stdout, without stage= and key=value.
    worker = Worker(
        app,
        loglevel=settings.log_level.lower(),
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    # faust's start-up spinner writes a backspace and a cursor-show escape to stdout even when it is a log file.
    worker.spinner = None
    worker.execute_from_commandline()
    return 0


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from services.ops.init import init

    logs.setup(settings.log_level)
    init(settings)
    print(json.dumps({"topics": "ok", "template": "ok", "alias": settings.es.alias}))
    return 0


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from services.ops import up

    logs.setup(settings.log_level)
    return up.run(settings, enrich_workers=args.enrich_workers, discard_snapshot=args.discard_snapshot)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.kafka import producer
    from services.ingest.submit import submit
    from services.ops.supervisor import stack_settings

    logs.setup("WARNING" if args.quiet else settings.log_level)
    cfg = stack_settings(settings)
    prod = producer(cfg.kafka)
    try:
        done = submit(
            cfg,
            prod,
            paths=args.paths or (),
            urls=args.url or (),
            feeds=args.feed or (),
            poll_every=args.poll_every,
            quiet=args.quiet,
        )
    finally:
        prod.flush()
        prod.close()
    if not args.quiet:
        print(json.dumps(done.summary(with_problems=getattr(args, "json", False))))
    return 0 if done.ok else 1


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from services.ops import demo

    logs.setup("WARNING" if args.json else settings.log_level)
    from services.ops.snapshot import SnapshotError

    try:
        report = demo.run(
            settings, args.paths, timeout_s=args.timeout, progress=not args.json, keep=args.keep
        )
    except SnapshotError as exc:
        print(f"newsflow demo --keep: cannot restore the search index: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Article fields are plain Text: a title with "[bold]" or "[/]" in it is shown as written, never as markup.
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a pipe or a CI log: the table stays readable
    console.print(
        f"[bold]{report['articles_in']}[/] articles in, [bold]{report['indexed']}[/] documents indexed, "
        f"{report['duplicates_recorded']} duplicates recorded, {report['dead_lettered']} dead-lettered "
        f"({report['seconds']} s)"
    )
    t = Table(
        "source", "title / first words", "published", "event", "duplicates", "entities", title="Documents"
    )
    for d in report["documents"]:
        dups = ", ".join(f"{x['source']} ({x['kind']} {x['similarity']:.2f})" for x in d["duplicates"])
        ents = ", ".join(e["name"] for e in d["entities"][:6])
        t.add_row(
            Text(d["source"]),
            Text((d["title"] or d.get("snippet") or "")[:60]),
            d["published_at"] or "",
            (d["event_id"] or "")[:10],
            Text(dups),
            Text(ents),
        )
    console.print(t)
    if report.get("events"):
        tv = Table("event", "articles", "copies", "first headline", "sources", title="Events")
        for ev in report["events"]:
            tv.add_row(
                ev["event_id"][:10],
                str(ev["articles"]),
                str(ev["copies"]),
                Text(ev["first_title"][:50]),
                Text(", ".join(str(s) for s in ev["sources"])),
            )
        console.print(tv)
    if report["top_entities"]:
        te = Table("entity", "type", "documents", title="Top entities (from the index)")
        for e in report["top_entities"][:15]:
            te.add_row(Text(e["name"]), e["type"], str(e["documents"]))
        console.print(te)
    if report["dead_letters"]:
        dl = Table("source", "stage", "reason", "detail", title="Dead letters")
        for x in report["dead_letters"]:
            dl.add_row(Text(str(x["source"])), x["stage"], x["reason"], Text((x.get("detail") or "")[:80]))
        console.print(dl)


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(masked(settings), indent=2))
    return 0


def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.schemas import check_schemas, write_schemas

    if args.write:
        for p in write_schemas():
            print(p)
        return 0
    stale = check_schemas()
    for p in stale:
        print(f"out of date: {p}", file=sys.stderr)
    return 1 if stale else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("worker", help="run one stream worker (a faust app)")
    p.add_argument("stage", choices=STAGES)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("up", help="start the servers (embedded unless configured) and all four workers")
    p.add_argument(
        "--enrich-workers", type=int, default=2, help="enrich processes: NER is the bottleneck, one per core"
    )
    p.add_argument(
        "--discard-snapshot",
        action="store_true",
        help="start with an empty index: the data dir's snapshot is moved aside (for one that cannot be restored)",
    )
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("init", help="create topics, index template and write alias (idempotent)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("ingest", help="send files/directories, URLs and feeds to a running stack")
    p.add_argument("paths", nargs="*", help="files or directories (.txt .json .jsonl .html .html.gz)")
    p.add_argument("--url", action="append", help="a page to fetch and ingest (repeatable)")
    p.add_argument("--feed", action="append", help="an RSS/Atom feed: new entries only (repeatable)")
    p.add_argument("--poll-every", type=float, default=0, help="with --feed: poll again every N seconds")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary (for scripts)")
    p.add_argument(
        "--json",
        action="store_true",
        help="with the counts, each refused/failed input: source, reason, detail",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("demo", help="run the pipeline on PATHs and report what got indexed")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for every input to end")
    p.add_argument(
        "--keep",
        action="store_true",
        help="start from the data dir's snapshot (as `newsflow up` keeps it) and snapshot at the end",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("config", help="print the effective settings (secrets masked)")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("schemas", help="check (or --write) schemas/*.json against the record types")
    p.add_argument("--write", action="store_true")
    p.set_defaults(func=cmd_schemas)

    for module in (
        "services.ingest.cli",
        "services.dedupe.cli",
        "services.enrich.cli",
        "services.index.cli",
        "services.ops.cli",
        "services.ops.bench",
    ):
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as exc:  # a setting the operator got wrong: say which, without a traceback
        # Never the input values: a model-level error would otherwise print the whole group, secrets included.
        for err in exc.errors(include_input=False, include_url=False):
            where = "NEWSFLOW_" + "__".join(str(p).upper() for p in err["loc"])
            print(f"newsflow: invalid setting {where}: {err['msg']}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args, settings))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
