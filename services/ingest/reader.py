"""The one reader of input files: paths (files, directories) -> inputs, articles, or rejections with a reason.

Every command that reads files goes through here — offline ones (``newsflow dedupe``, ``ner``, ``extract``,
``bench``) for articles, ``newsflow ingest`` and ``demo`` for the inbox items they send — so a file is found
and refused the same way everywhere (walk and safety rules: ``services.ingest.sources.files``).

A file that cannot be read is *refused*: reason ``unreadable`` (missing, permission), ``not-a-file`` (FIFO,
device, socket, directory loop), ``outside-directory`` (a link leaving the directory given), ``symlink``
(a link inside it while ``ingest.follow_symlinks`` is off), ``directory-loop`` or ``too-large``. Each
refusal is (1) written once to stderr as ``newsflow: refused SOURCE: REASON (DETAIL)``, (2) yielded as a
``Rejected`` whose trace names the file, so the command shows it where it shows any rejection (or
dead-letters it), and (3) counted in ``Refusals``: the command goes on with the other files and exits 1 at
the end when any file was refused.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from services.common.records import Article, InboxItem, Rejected, Trace
from services.common.settings.ingest import IngestSettings
from services.ingest.logic import parse_bytes
from services.ingest.sources import Kind, inbox_item
from services.ingest.sources.files import INPUT_SUFFIXES, Entry, file_ingest_id, read_entry, walk

__all__ = [
    "FileInput",
    "Refusals",
    "input_cap",
    "read_articles",
    "read_inputs",
    "read_items",
]


@dataclass(frozen=True)
class FileInput:
    """The bytes of one input file, named as the user gave it (``source``), with its ingest id."""

    source: str
    ingest_id: str
    data: bytes


@dataclass
class Refusals:
    """The files a command refused: each reported on ``stream`` (stderr) when it happens, then counted."""

    stream: TextIO | None = None
    refused: list[Rejected] = field(default_factory=list)

    def __call__(self, rej: Rejected) -> None:
        self.refused.append(rej)
        source = rej.trace.source if rej.trace else "?"
        print(f"newsflow: refused {source}: {rej.reason} ({rej.detail})", file=self.stream or sys.stderr)

    def __len__(self) -> int:
        return len(self.refused)

    def summary(self) -> str | None:
        """One closing line when files were refused (``None`` otherwise)."""
        n = len(self.refused)
        return f"newsflow: {n} input file(s) refused (see above)" if n else None


def input_cap(cfg: IngestSettings) -> int:
    """Largest input file read: larger ones are refused before a byte is read."""
    return max(cfg.max_article_bytes, cfg.max_html_bytes)


def _read(entry: Entry, ingest_id: str | None, cfg: IngestSettings) -> FileInput | Rejected:
    """``ingest_id`` None: the file's own (``file_ingest_id``: the same file read again is the same input)."""
    got = read_entry(entry, input_cap(cfg))
    if isinstance(got, tuple):
        reason, detail = got
        trace = Trace(ingest_id=ingest_id or uuid.uuid4().hex, record=0, records=1, source=entry.source)
        return Rejected(reason=reason, detail=detail, trace=trace)
    return FileInput(entry.source, ingest_id or file_ingest_id(entry.path, got), got)


def read_inputs(
    paths: Sequence[str | Path],
    cfg: IngestSettings,
    refusals: Refusals | None = None,
    *,
    suffixes: tuple[str, ...] = INPUT_SUFFIXES,
    id_prefix: str | None = None,
) -> Iterator[FileInput | Rejected]:
    """Every input file under ``paths`` in walk order, read; refused ones as ``Rejected`` (reported to
    ``refusals``, a fresh stderr reporter when not given).

    Ingest ids are ``<id_prefix><position, 8 digits>`` (they order the inputs, which offline dedupe relies
    on), or, when ``id_prefix`` is None (a running stack), the file's own id: its resolved path and content
    hashed, so that ingesting the same file again is idempotent (``file_ingest_id``).
    """
    report = refusals if refusals is not None else Refusals()
    for n, entry in enumerate(walk(paths, suffixes, follow_symlinks=cfg.follow_symlinks)):
        ingest_id = f"{id_prefix}{n:08d}" if id_prefix is not None else None
        got = _read(entry, ingest_id, cfg)
        if isinstance(got, Rejected):
            report(got)
        yield got


def read_articles(
    paths: Sequence[str | Path],
    cfg: IngestSettings,
    now: datetime,
    refusals: Refusals | None = None,
    *,
    id_prefix: str = "offline",
    suffixes: tuple[str, ...] = INPUT_SUFFIXES,
    kind: Kind = "auto",
) -> Iterator[Article | Rejected]:
    """Every record of every input file, parsed by the ingest worker's own code (``logic.parse_bytes``):
    articles, and rejections — a refused file's (see ``read_inputs``) and each bad record's."""
    for got in read_inputs(paths, cfg, refusals, suffixes=suffixes, id_prefix=id_prefix):
        if isinstance(got, Rejected):
            yield got
        else:
            yield from parse_bytes(got.data, got.source, got.ingest_id, now, cfg, kind=kind)


def read_items(
    paths: Sequence[str | Path], cfg: IngestSettings, refusals: Refusals | None = None
) -> Iterator[InboxItem | Rejected]:
    """Every input file as an inbox item for a running stack (random ingest ids), refused ones as
    ``Rejected`` to dead-letter (``services.ingest.submit.send`` takes both)."""
    for got in read_inputs(paths, cfg, refusals):
        yield got if isinstance(got, Rejected) else inbox_item(got.ingest_id, got.source, got.data)
