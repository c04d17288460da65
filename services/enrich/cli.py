"""``newsflow ner --json [--raw] PATH...``: the enrich step offline, one JSON line per input.

Without ``--raw`` each file is parsed as ingest parses it (``.txt`` seed format, ``.json``, ``.jsonl``...) and
offsets are into each article's body; with ``--raw`` the file's text is used as it is (offsets into it).
Ids are the pipeline's: deterministic from the name, so they agree across inputs, runs and workers.
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
    ner = SpacyNer(cfg.model, batch_size=cfg.batch_size, n_process=cfg.n_process)
    res = Resources.load(cfg)
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
            {"text": m.text, "type": m.type, "start": m.start, "end": m.end, "id": m.id, "name": m.name}
            for m in found.get(k, [])
        ]
        if len(text) > cfg.max_chars:
            line["ner_truncated"] = True
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    if summary := refusals.summary():
        print(summary, file=sys.stderr)
    return 1 if refusals or (failed and failed == len(inputs)) else 0
