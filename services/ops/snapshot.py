"""Snapshots of the embedded search server: what ``newsflow up`` keeps across restarts.

osmem keeps everything in memory and has no persistence of its own, but it loads a *seed directory* at start
(``osmem-server -seed DIR``): ``<name>.template.json`` (index templates), ``<index>.index.json`` (settings and
mappings), ``<index>.ndjson`` (a ``_bulk`` body) and ``aliases.json`` (a ``_aliases`` body), in that order. A
snapshot is exactly such a directory, written from the running server:

- every index (articles, dedupe state, anything else on it) read page by page with ``search_after`` on ``_id``;
- every index template, with the component templates it is composed of folded in (osmem's seed loads index
  templates only; ``newsflow init`` puts the component templates back at each start anyway);
- the aliases (with ``is_write_index``) after the documents, as osmem applies them;
- ``manifest.json`` last: per file its size, line count and SHA-256, so a truncated or damaged file is found
  before osmem is started on it (a start then refuses, naming the file, instead of coming up half empty).

It is written beside the current one (``snapshot.tmp-<pid>``) and swapped in by two renames: a crash at any
point leaves either the old snapshot or the new one, never half of one (``snapshot.old`` is picked up again if
the crash fell between the renames).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

CURRENT = "snapshot"
MANIFEST = "manifest.json"
_VERSION = 2
PART_DOCS = 2000
"""Documents per seed directory: osmem loads each ``<index>.ndjson`` as one bulk request, and one request of
10k articles took it 138 s (at its memory limit) where parts of 2,000 took 47 s."""
# Settings the server sets on its own; giving them back at creation is refused or meaningless.
_SERVER_OWNED = {"creation_date", "uuid", "version", "provided_name", "replication", "routing"}


class SnapshotError(RuntimeError):
    """A snapshot that cannot be restored; the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class Snapshot:
    """A snapshot on disk, as its manifest describes it."""

    path: Path
    taken_at: datetime
    documents: dict[str, int]
    bytes: int
    seconds: float
    parts: list[Path]
    """The seed directories, in the order osmem must load them (one ``-seed`` each)."""

    @property
    def total(self) -> int:
        return sum(self.documents.values())


def current_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / CURRENT


def _pages(es: Elasticsearch, index: str, page: int) -> Iterator[list[dict[str, Any]]]:
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": page, "sort": [{"_id": "asc"}], "query": {"match_all": {}}}
        if after is not None:
            body["search_after"] = after
        hits: list[dict[str, Any]] = es.search(index=index, **body)["hits"]["hits"]
        if not hits:
            return
        yield hits
        after = hits[-1]["sort"]


def _index_settings(settings: dict[str, Any]) -> dict[str, Any]:
    index = dict(settings.get("index", {}))
    return {"index": {k: v for k, v in index.items() if k not in _SERVER_OWNED}}


def _merge(into: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    out = dict(into)
    for key, value in part.items():
        out[key] = (
            _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def _templates(es: Elasticsearch) -> dict[str, dict[str, Any]]:
    """Index templates with their component templates folded in."""
    components = {
        c["name"]: c["component_template"].get("template", {})
        for c in es.cluster.get_component_template().get("component_templates", [])
    }
    out: dict[str, dict[str, Any]] = {}
    for t in es.indices.get_index_template().get("index_templates", []):
        body = dict(t["index_template"])
        merged: dict[str, Any] = {}
        for name in body.pop("composed_of", []) or []:
            merged = _merge(merged, components.get(name, {}))
        body["template"] = _merge(merged, body.get("template", {}))
        out[t["name"]] = body
    return out


class _Writer:
    """Files of one snapshot: each written, flushed and fsync'd, its size/lines/digest noted for the manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, dict[str, Any]] = {}

    def write(self, name: str, chunks: Iterator[bytes] | list[bytes]) -> None:
        digest = hashlib.sha256()
        size = lines = 0
        (self.root / name).parent.mkdir(parents=True, exist_ok=True)
        with (self.root / name).open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                lines += chunk.count(b"\n")
            f.flush()
            os.fsync(f.fileno())
        self.files[name] = {"bytes": size, "lines": lines, "sha256": digest.hexdigest()}


def _bulk_lines(hits: list[dict[str, Any]]) -> bytes:
    return b"".join(
        orjson.dumps({"index": {"_id": h["_id"]}}) + b"\n" + orjson.dumps(h["_source"]) + b"\n" for h in hits
    )


def take(es: Elasticsearch, data_dir: str | Path, page: int = 1000, part_docs: int = PART_DOCS) -> Snapshot:
    """Write a snapshot of everything on the server and make it the current one."""
    t0 = time.monotonic()
    taken_at = datetime.now(UTC)
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    tmp = data / f"{CURRENT}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        out = _Writer(tmp)
        parts = ["p0000"]  # templates and index definitions first, then the documents, the aliases last
        for name, body in _templates(es).items():
            out.write(f"p0000/{name}.template.json", [orjson.dumps(body)])
        indices = {k: v for k, v in es.indices.get(index="*").items() if not k.startswith(".")}
        actions: list[dict[str, Any]] = []
        documents: dict[str, int] = {}
        for index, info in sorted(indices.items()):
            definition = {"settings": _index_settings(info.get("settings", {})), "mappings": info["mappings"]}
            out.write(f"p0000/{index}.index.json", [orjson.dumps(definition)])
            for alias, props in (info.get("aliases") or {}).items():
                actions.append({"add": {"index": index, "alias": alias, **props}})
            documents[index] = 0
            chunk: list[bytes] = []
            in_chunk = 0
            for hits in _pages(es, index, min(page, part_docs)):
                documents[index] += len(hits)
                chunk.append(_bulk_lines(hits))
                in_chunk += len(hits)
                if in_chunk >= part_docs:
                    parts.append(f"p{len(parts):04d}")
                    out.write(f"{parts[-1]}/{index}.ndjson", chunk)
                    chunk, in_chunk = [], 0
            if chunk:  # an empty index has no file: osmem refuses an empty bulk body
                parts.append(f"p{len(parts):04d}")
                out.write(f"{parts[-1]}/{index}.ndjson", chunk)
        if actions:
            parts.append(f"p{len(parts):04d}")
            out.write(f"{parts[-1]}/aliases.json", [orjson.dumps({"actions": actions})])
        seconds = round(time.monotonic() - t0, 3)
        size = sum(int(f["bytes"]) for f in out.files.values())
        manifest = {
            "version": _VERSION,
            "taken_at": taken_at.isoformat(),
            "seconds": seconds,
            "documents": documents,
            "parts": parts,
            "files": out.files,
        }
        out.write(MANIFEST, [orjson.dumps(manifest, option=orjson.OPT_INDENT_2)])
        _swap(tmp, data)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    cur = current_path(data)
    snap = Snapshot(cur, taken_at, documents, size, seconds, [cur / p for p in parts])
    log.info(
        "snapshot written path=%s documents=%s bytes=%s seconds=%s", snap.path, snap.total, size, seconds
    )
    return snap


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap(new: Path, data: Path) -> None:
    cur, old = data / CURRENT, data / f"{CURRENT}.old"
    shutil.rmtree(old, ignore_errors=True)
    if cur.exists():
        os.rename(cur, old)
    os.rename(new, cur)
    _fsync_dir(data)
    shutil.rmtree(old, ignore_errors=True)


def load(data_dir: str | Path) -> Snapshot | None:
    """The current snapshot, checked file by file against its manifest; ``None`` when there is none.

    Raises ``SnapshotError`` naming the file when one is missing, truncated or damaged."""
    data = Path(data_dir)
    cur, old = data / CURRENT, data / f"{CURRENT}.old"
    if not cur.exists() and old.exists():
        os.rename(old, cur)  # a crash between the two renames of a swap
    if not cur.exists():
        return None
    mpath = cur / MANIFEST
    try:
        manifest = orjson.loads(mpath.read_bytes())
        files: dict[str, dict[str, Any]] = manifest["files"]
        parts = [cur / str(p) for p in manifest.get("parts") or ["."]]  # version 1: one directory
        documents = {str(k): int(v) for k, v in manifest["documents"].items()}
        taken_at = datetime.fromisoformat(manifest["taken_at"])
    except FileNotFoundError:
        raise SnapshotError(f"snapshot manifest {mpath} is missing: the snapshot is incomplete") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SnapshotError(f"snapshot manifest {mpath} is unreadable or damaged: {exc}") from None
    for name, meta in files.items():
        path = cur / name
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise SnapshotError(f"snapshot file {path} is missing") from None
        except OSError as exc:
            raise SnapshotError(f"snapshot file {path} is unreadable: {exc}") from None
        if len(blob) != meta.get("bytes"):
            raise SnapshotError(
                f"snapshot file {path} is truncated or damaged: {len(blob)} bytes, {meta.get('bytes')} expected"
            )
        if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
            raise SnapshotError(f"snapshot file {path} is damaged: its SHA-256 differs from the manifest's")
    size = sum(int(m.get("bytes", 0)) for m in files.values())
    return Snapshot(cur, taken_at, documents, size, float(manifest.get("seconds", 0.0)), parts)


def discard(data_dir: str | Path) -> Path | None:
    """Move the current snapshot aside (never deleted: it may still be worth repairing by hand)."""
    data = Path(data_dir)
    cur = data / CURRENT
    if not cur.exists():
        return None
    aside = data / f"{CURRENT}.discarded-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    os.rename(cur, aside)
    return aside
