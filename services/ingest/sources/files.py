"""Files and directories as a source: directories walked recursively in sorted path order, read safely.

What is read is exactly what was asked for:

- inside a directory only regular files whose resolved path stays inside that directory are read. A symbolic
  link whose target leaves the directory is refused as ``outside-directory`` (a link to ``/etc/passwd`` is
  never opened); one that stays inside is refused as ``symlink`` unless ``follow_symlinks`` is set
  (``NEWSFLOW_INGEST__FOLLOW_SYMLINKS``); a directory reached again through links is a ``directory-loop``;
- a path given explicitly is taken whatever its name (a symlink given by name is the user's choice), but it
  must be a regular file: a FIFO, device, socket or directory loop is refused at once as ``not-a-file``
  (opened non-blocking and checked with ``fstat``, so nothing swapped in at the last moment can block);
- a missing or unreadable file is ``unreadable``, one larger than the cap ``too-large``.

Every refusal is a ``Rejected`` whose trace names the file, so it is dead-lettered (online) or reported
(offline, ``services.ingest.reader``) like any other bad input.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
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
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One input found under the given paths: its source name (as given, or the directory joined with the
    path inside it), the file, the directory it was found in (None for a path given explicitly), and the
    reason it is refused when the walk already knows (a link leaving the directory, a loop)."""

    source: str
    path: Path
    root: Path | None = None
    refused: tuple[str, str] | None = None


def display_name(name: str) -> str:
    """A file name as text for traces and messages: bytes that are not UTF-8 (kept by the OS as surrogates)
    shown as ``\\xff`` escapes, so a hostile name cannot make a record unserializable."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def walk(
    paths: Sequence[str | Path], suffixes: tuple[str, ...] = INPUT_SUFFIXES, *, follow_symlinks: bool = False
) -> Iterator[Entry]:
    """Every input under ``paths``, in order: files as given, directories walked in sorted path order.

    Inside directories only names ending in ``suffixes`` are taken and hidden files/folders are skipped;
    symlinks are skipped unless ``follow_symlinks`` (then those leaving the directory come out refused).
    """
    for given in paths:
        p = Path(given)
        if p.is_dir():
            yield from _walk_dir(str(given), p, suffixes, follow_symlinks)
        else:
            yield Entry(display_name(str(given)), p)


def _walk_dir(given: str, top: Path, suffixes: tuple[str, ...], follow: bool) -> Iterator[Entry]:
    root = top.resolve()
    found: list[tuple[tuple[str, ...], Entry]] = []
    seen_dirs = {root}

    def add(rel: Path, path: Path, refused: tuple[str, str] | None = None) -> None:
        found.append((rel.parts, Entry(display_name(str(Path(given) / rel)), path, root, refused)))

    def visit(dir_real: Path, rel_dir: Path) -> None:
        try:
            names = sorted(os.listdir(dir_real))
        except OSError:
            return  # an unreadable folder inside the tree holds nothing we can read
        for name in names:
            if name.startswith("."):
                continue
            rel, path = rel_dir / name, dir_real / name
            wanted = name.lower().endswith(suffixes)
            try:
                st = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                target = path.resolve()
                is_dir = target.is_dir()
                if not (wanted or is_dir):
                    continue
                source = display_name(str(Path(given) / rel))
                if not _inside(target, root):
                    add(
                        rel,
                        path,
                        (
                            "outside-directory",
                            f"{source}: a symlink to {display_name(str(target))}, outside {display_name(given)}",
                        ),
                    )
                elif not follow:
                    add(
                        rel,
                        path,
                        ("symlink", f"{source}: a symlink (set ingest.follow_symlinks to follow it)"),
                    )
                elif is_dir:
                    if target in seen_dirs:
                        add(
                            rel,
                            path,
                            (
                                "directory-loop",
                                f"{source}: leads back to {display_name(str(target))}, already walked",
                            ),
                        )
                    else:
                        seen_dirs.add(target)
                        visit(target, rel)
                else:
                    add(rel, target)
            elif stat.S_ISDIR(st.st_mode):
                real = path.resolve()
                if real not in seen_dirs:  # a bind mount showing a folder twice: walked once
                    seen_dirs.add(real)
                    visit(real, rel)
            elif wanted:
                add(rel, path)  # a non-regular file with an input's name (a FIFO x.txt) is refused when read

    visit(root, Path())
    found.sort(key=lambda kv: kv[0])
    for _, entry in found:
        yield entry


def expand(
    paths: Sequence[str | Path], suffixes: tuple[str, ...] = INPUT_SUFFIXES
) -> Iterator[tuple[str, Path]]:
    """(source as given, file) for every input the walk does not refuse (see ``walk``, which also reports
    the refused ones). For callers that read files themselves: read them with ``read_entry`` (or
    ``FileSource.read``) so non-regular files are refused too."""
    for e in walk(paths, suffixes):
        if e.refused is None:
            yield e.source, e.path


def read_entry(entry: Entry, max_bytes: int) -> bytes | tuple[str, str]:
    """The bytes of ``entry``, or (reason, detail) why it is not read. Never blocks on a non-regular file."""
    if entry.refused:
        return entry.refused
    src = entry.source
    if entry.root is not None:
        real = entry.path.resolve()
        if not _inside(real, entry.root):
            return (
                "outside-directory",
                f"{src}: resolves to {display_name(str(real))}, outside the directory given",
            )
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if entry.root is not None:
        flags |= getattr(os, "O_NOFOLLOW", 0)  # the walk resolved links; a link swapped in since is refused
    try:
        pre = entry.path.stat()
        if not stat.S_ISREG(pre.st_mode):
            return "not-a-file", f"{src}: {_kind(pre.st_mode)}, not a regular file"
        fd = os.open(entry.path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "not-a-file", f"{src}: a symlink loop or a link swapped in after the walk"
        return "unreadable", f"{src}: {type(exc).__name__}: {exc.strerror or exc}"[:300]
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return "not-a-file", f"{src}: {_kind(st.st_mode)}, not a regular file"
        if st.st_size > max_bytes:
            return "too-large", f"{src}: {st.st_size} bytes > {max_bytes}"
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, _READ_CHUNK):
            size += len(chunk)
            if size > max_bytes:  # the file grew while being read
                return "too-large", f"{src}: more than {max_bytes} bytes"
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        return "unreadable", f"{src}: {type(exc).__name__}: {exc.strerror or exc}"[:300]
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file"


def file_ingest_id(path: Path, data: bytes) -> str:
    """The ingest id of a file: the same file (resolved path) with the same bytes is the same input, so
    ingesting it again is idempotent (dedupe gives the redelivered arrival its stored decision: no new document,
    no new duplicate entry); a copy under another name, or the file changed, is a new input."""
    digest = hashlib.sha256(os.fsencode(path.resolve()) + b"\0" + data).hexdigest()
    return f"file-{digest[:32]}"


class FileSource:
    """Every input file under the given paths, read whole; refused files (see above) are rejections."""

    def __init__(self, paths: Sequence[str | Path], max_bytes: int, *, follow_symlinks: bool = False) -> None:
        self.paths: list[str | Path] = list(paths)
        self.max_bytes = max_bytes
        self.follow_symlinks = follow_symlinks
        self.name = "files"

    def __len__(self) -> int:
        return sum(1 for _ in self.entries())

    def entries(self) -> Iterator[Entry]:
        return walk(self.paths, follow_symlinks=self.follow_symlinks)

    def read_entry(self, entry: Entry) -> InboxItem | Rejected:
        got = read_entry(entry, self.max_bytes)
        if isinstance(got, tuple):
            reason, detail = got
            trace = Trace(ingest_id=uuid.uuid4().hex, record=0, records=1, source=entry.source)
            return Rejected(reason=reason, detail=detail, trace=trace)
        return inbox_item(file_ingest_id(entry.path, got), entry.source, got)

    def read(self, source: str, path: Path) -> InboxItem | Rejected:
        """One file given by name (``source`` is how it is named in traces)."""
        return self.read_entry(Entry(source, path))

    def iter_items(self) -> Iterator[InboxItem | Rejected]:
        """The same as ``items()``, for synchronous callers (``newsflow ingest``)."""
        for entry in self.entries():
            yield self.read_entry(entry)

    async def items(self) -> AsyncIterator[InboxItem | Rejected]:
        for item in self.iter_items():
            yield item
