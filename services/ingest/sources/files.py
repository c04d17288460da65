"""Files and directories as a source: directories walked recursively in sorted path order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

from services.common.records import InboxItem, Rejected, Trace
from services.ingest.sources import inbox_item

INPUT_SUFFIXES = (
    ".txt",
    ".json",
    ".jsonl",
    ".ndjson",
    ".html",
    ".htm",
    ".xhtml",
    ".html.gz",
    ".json.gz",
    ".jsonl.gz",
    ".txt.gz",
)


def expand(
    paths: Sequence[str | Path], suffixes: tuple[str, ...] = INPUT_SUFFIXES
) -> Iterator[tuple[str, Path]]:
    """(source as given, file) for every input: files as given, directories walked in sorted path order.

    Inside directories only names ending in ``suffixes`` are taken, and hidden files/folders are skipped.
    A path given explicitly is always taken (a missing one is reported by ``FileSource``).
    """
    for given in paths:
        p = Path(given)
        if p.is_dir():
            found = (
                x
                for x in p.rglob("*")
                if x.is_file()
                and x.name.lower().endswith(suffixes)
                and not any(part.startswith(".") for part in x.relative_to(p).parts)
            )
            for f in sorted(found, key=lambda x: x.relative_to(p).parts):
                yield str(Path(given) / f.relative_to(p)), f
        else:
            yield str(given), p


class FileSource:
    """Every input file under the given paths, read whole; oversized or unreadable files are rejections."""

    def __init__(self, paths: Sequence[str | Path], max_bytes: int) -> None:
        self.paths: list[str | Path] = list(paths)
        self.max_bytes = max_bytes
        self.name = "files"

    def __len__(self) -> int:
        return sum(1 for _ in expand(self.paths))

    def read(self, source: str, path: Path) -> InboxItem | Rejected:
        ingest_id = uuid.uuid4().hex
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                return Rejected(
                    reason="too-large",
                    detail=f"{size} bytes > {self.max_bytes}",
                    trace=Trace(ingest_id=ingest_id, record=0, records=1, source=source),
                )
            data = path.read_bytes()
        except OSError as exc:
            return Rejected(
                reason="unreadable",
                detail=f"{type(exc).__name__}: {exc}"[:300],
                trace=Trace(ingest_id=ingest_id, record=0, records=1, source=source),
            )
        return inbox_item(ingest_id, source, data)

    def iter_items(self) -> Iterator[InboxItem | Rejected]:
        """The same as ``items()``, for synchronous callers (``newsflow ingest``)."""
        for source, path in expand(self.paths):
            yield self.read(source, path)

    async def items(self) -> AsyncIterator[InboxItem | Rejected]:
        for item in self.iter_items():
            yield item
