"""``newsflow ner --json [--raw] PATH...``: the enrich step offline, one JSON line per input; and
``newsflow kb import DUMP``: a Wikidata dump -> a knowledge-base file the enrich step links to.

Without ``--raw`` each file is parsed as ingest parses it (``.txt`` seed format, ``.json``, ``.jsonl``...) and
offsets are into each article's body; with ``--raw`` the file's text is used as it is (offsets into it).
Ids are the pipeline's: the knowledge-base id (``kb_id``, ``kb_name``) where the name is linked, else a
deterministic ``local:`` id, so they agree across inputs, runs and workers.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.common.settings import Settings

if TYPE_CHECKING:
    from services.ingest.reader import Refusals


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("ner", help="run the enrich step (NER + canonical entities) on files, offline")
    p.add_argument("paths", nargs="+", help="files or directories (walked like `newsflow ingest`)")
    p.add_argument("--json", action="store_true", help="one JSON line per input (the only output format)")
    p.add_argument(
        "--raw", action="store_true", help="use each file's text as is (offsets into the file text)"
    )
    p.set_defaults(func=cmd_ner)

    kb = subparsers.add_parser("kb", help="knowledge base for entity linking")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    imp = kb_sub.add_parser(
        "import",
        help="stream a Wikidata JSON dump (.json, .gz, .bz2) into a KB file (set NEWSFLOW_ENRICH__KB_PATH to it)",
    )
    imp.add_argument("dump", help="a Wikidata JSON dump (latest-all.json.gz or a part of one)")
    imp.add_argument("--out", help="KB file to write (.jsonl or .jsonl.gz; default: enrich.kb_path)")
    imp.add_argument(
        "--languages",
        default="en",
        help="labels and aliases in these languages, comma-separated (default: en)",
    )
    imp.set_defaults(func=cmd_kb_import)


def _texts(
    paths: list[str], raw: bool, settings: Settings, refusals: Refusals
) -> list[tuple[str, str | None, str]]:
    """(source, language, text) for every input; a file ingest rejects (or cannot read: reported on stderr,
    see ``services.ingest.reader``) yields an error line instead."""
    from services.common.records import Rejected
    from services.ingest.logic import parse_bytes
    from services.ingest.reader import read_inputs

    out: list[tuple[str, str | None, str]] = []
    for got in read_inputs(paths, settings.ingest, refusals, id_prefix="ner"):
        if isinstance(got, Rejected):
            out.append((got.trace.source if got.trace else "?", "error:" + got.reason, ""))
            continue
        source, data = got.source, got.data
        if raw:
            out.append((source, None, data.decode("utf-8", errors="replace")))
            continue
        for i, art in enumerate(parse_bytes(data, source, got.ingest_id, datetime.now(UTC), settings.ingest)):
            name = source if i == 0 else f"{source}#{i}"
            if isinstance(art, Rejected):
                out.append((name, "error:" + art.reason, ""))
            else:
                out.append((name, art.language, art.body))
    return out


def cmd_ner(args: argparse.Namespace, settings: Settings) -> int:
    from services.enrich.logic import is_english, mentions_of_texts
    from services.enrich.model import SpacyNer
    from services.enrich.resources import Resources
    from services.ingest.reader import Refusals

    cfg = settings.enrich
    refusals = Refusals()
    inputs = _texts(args.paths, args.raw, settings, refusals)
    from services.enrich.kb import KbError

    ner = SpacyNer(cfg.model, batch_size=cfg.batch_size)
    try:
        res = Resources.load(cfg)
    except KbError as exc:
        print(f"newsflow ner: knowledge base: {exc}", file=sys.stderr)
        return 2
    todo = [
        k
        for k, (_, lang, text) in enumerate(inputs)
        if text.strip() and not (lang or "").startswith("error:") and is_english(lang)
    ]
    found = dict(
        zip(
            todo, mentions_of_texts([inputs[k][2][: cfg.max_chars] for k in todo], ner, cfg, res), strict=True
        )
    )
    failed = 0
    for k, (source, lang, text) in enumerate(inputs):
        line: dict[str, Any] = {"source": source}
        if lang and lang.startswith("error:"):
            line["error"] = lang.removeprefix("error:")
            failed += 1
        elif lang and not is_english(lang):
            line["language"] = lang
        line["entities"] = [
            {
                "text": m.text,
                "type": m.type,
                "start": m.start,
                "end": m.end,
                "id": m.id,
                "name": m.name,
                "kb_id": m.kb_id,
                "kb_name": m.kb_name,
            }
            for m in found.get(k, [])
        ]
        if len(text) > cfg.max_chars:
            line["ner_truncated"] = True
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    if summary := refusals.summary():
        print(summary, file=sys.stderr)
    return 1 if refusals or (failed and failed == len(inputs)) else 0


def cmd_kb_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from services.enrich.kb_import import import_dump

    out = args.out or settings.enrich.kb_path
    if not out:
        print("newsflow kb import: give --out PATH (or set NEWSFLOW_ENRICH__KB_PATH)", file=sys.stderr)
        return 2
    dump = Path(args.dump)
    if not dump.is_file():
        print(f"newsflow kb import: no dump at {dump}", file=sys.stderr)
        return 2
    languages = [x.strip() for x in args.languages.split(",") if x.strip()]
    report = import_dump(dump, Path(out), languages)
    for n in report.bad_lines[:20]:
        print(f"newsflow kb import: {dump}:{n}: malformed line skipped", file=sys.stderr)
    summary = {
        "out": str(out),
        "lines": report.lines,
        "entities": report.entities,
        "kept": report.kept,
        "malformed_lines": len(report.bad_lines),
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0
