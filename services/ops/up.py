"""``newsflow up``: start the servers and workers, keep the embedded data, and stop in order.

Start: check the last snapshot of the data directory (refuse, naming the file, when it is damaged), start the
servers (the embedded search server seeded from that snapshot), say what was restored and — after a run that
did not stop cleanly — what may need ingesting again, send the replay file of the last stop, then the workers.

While running: restart workers that exit, follow inputs in the journal, snapshot every
``supervisor.snapshot_interval_s`` when something changed.

Stop (Ctrl-C / SIGTERM), one line per stage on stderr:

1. no new input: the stack file goes (``newsflow ingest`` refuses), the ingest worker stops once the inbox is
   consumed (its push API closes);
2. wait, at most ``supervisor.drain_timeout_s`` in all, until dedupe, enrich and index have consumed and
   committed everything (the index worker commits after the search server acknowledged the writes);
3. stop the workers; what is still in the broker (and every dead letter) goes to the replay file;
4. snapshot the search server; stop the servers.

A second Ctrl-C skips the waiting (what is left goes to the replay file all the same).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from services.common.es import sync_client
from services.common.settings import Settings
from services.common.topics import STAGES, Stage
from services.ops import drain, journal, snapshot
from services.ops.init import init, settings_for
from services.ops.supervisor import (
    Running,
    remove_stack_file,
    running_supervisor,
    start_servers,
    write_stack_file,
)

log = logging.getLogger(__name__)


@dataclass
class _Stop:
    requested: int = 0  # Ctrl-C presses (SIGINT/SIGTERM received)


def _say(out: TextIO, text: str) -> None:
    print(text, file=out, flush=True)


def _persisting(settings: Settings) -> bool:
    """Snapshots are for the embedded search server only: real Elasticsearch keeps its own data."""
    return settings.supervisor.persist and not settings.es.url


def restored_counts(cfg: Settings) -> dict[str, int]:
    """What the search server holds: searchable articles, duplicates recorded on them, dedupe state entries."""
    es = sync_client(cfg.es)
    try:
        out = {"articles": 0, "duplicates": 0, "dedupe_entries": 0}
        if es.indices.exists_alias(name=cfg.es.alias):
            resp = es.search(
                index=cfg.es.alias,
                size=0,
                track_total_hits=True,
                query={"term": {"pending": False}},
                aggs={"dups": {"sum": {"field": "duplicate_count"}}},
            )
            out["articles"] = int(resp["hits"]["total"]["value"])
            out["duplicates"] = int(resp["aggregations"]["dups"]["value"] or 0)
        if es.indices.exists(index=cfg.es.dedupe_index):
            out["dedupe_entries"] = int(es.count(index=cfg.es.dedupe_index)["count"])
        return out
    finally:
        es.close()


def take_snapshot(cfg: Settings, data_dir: Path) -> snapshot.Snapshot:
    es = sync_client(cfg.es)
    try:
        return snapshot.take(es, data_dir)
    finally:
        es.close()


def run(
    settings: Settings,
    enrich_workers: int = 2,
    discard_snapshot: bool = False,
    out: TextIO = sys.stderr,
) -> int:
    data = Path(settings.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    persist = _persisting(settings)
    _say(out, f"data dir: {data.resolve()}")
    other = running_supervisor(settings)
    if other:
        _say(out, f"newsflow up: another one (pid {other}) runs with this data dir; stop it first")
        return 2
    snap: snapshot.Snapshot | None = None
    if persist:
        if discard_snapshot:
            aside = snapshot.discard(data)
            if aside:
                _say(out, f"snapshot discarded (moved to {aside}): starting empty")
        try:
            snap = snapshot.load(data)
        except snapshot.SnapshotError as exc:
            _say(out, f"newsflow up: cannot restore the search index: {exc}")
            _say(
                out,
                "  nothing was started. To start with an empty index instead: newsflow up --discard-snapshot "
                "(the snapshot is moved aside, not deleted)",
            )
            return 2
    gap = journal.unfinished(data, snap.taken_at if snap else None) if persist else None

    stop = _Stop()

    def on_signal(signum: int, frame: object) -> None:
        stop.requested += 1
        if stop.requested == 2:
            _say(out, "second stop request: not waiting for the stages any more")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # kafka-python logs a cancelled metadata refresh at ERROR whenever a short-lived client closes
    logging.getLogger("kafka.cluster").setLevel(logging.CRITICAL)
    if snap:
        _say(out, f"restoring {snap.total} documents from {snap.path} (osmem loads ~650 a second on 2 cores)")
    running = start_servers(settings, seeds=snap.parts if snap else [])
    cfg = settings_for(settings, running)
    follow: journal.Journal | None = None
    clean = False
    try:
        init(cfg)
        if persist:
            counts = restored_counts(cfg)
            if snap:
                _say(
                    out,
                    f"restored the snapshot of {snap.taken_at:%Y-%m-%d %H:%M:%S} UTC: {counts['articles']} "
                    f"articles ({counts['duplicates']} duplicates recorded on them), {counts['dedupe_entries']} "
                    f"dedupe entries",
                )
            else:
                _say(out, "no snapshot in the data dir: starting with an empty index")
            if gap is not None:
                _say(
                    out,
                    f"the last run did not stop cleanly: {gap.articles_after_snapshot} articles indexed after the "
                    f"snapshot and {gap.inputs} inputs unfinished at its time are not in the index"
                    + (f"; ingest them again: {gap.listed_in}" if gap.listed_in else ""),
                )
        else:
            _say(out, "search server not embedded: no snapshots (it keeps its own data)")
        replayed = drain.send_replay(cfg, data)
        if replayed:
            _say(out, f"sent {replayed} messages left in the broker at the last stop (replay file) first")
        for stage in STAGES:
            for _ in range(enrich_workers if stage == "enrich" else 1):
                running.start_worker(stage)
        if persist:
            follow = journal.Journal(cfg, data)
        path = write_stack_file(settings, running)
        print(json.dumps(running.describe(), indent=2), flush=True)
        _say(out, f"stack file: {path}  (newsflow ingest PATH... sends here)  Ctrl-C stops everything")
        last_snapshot = time.monotonic()
        interval = settings.supervisor.snapshot_interval_s
        while not stop.requested:
            running.restart_exited()
            if follow is not None:
                follow.poll(timeout_ms=500)
                if interval and follow.changed and time.monotonic() - last_snapshot >= interval:
                    s = take_snapshot(cfg, data)
                    follow.mark_snapshot(s.taken_at)
                    last_snapshot = time.monotonic()
            else:
                time.sleep(0.5)
        clean = shutdown(cfg, running, data, persist, stop, out, follow)
    finally:
        remove_stack_file(settings)
        if follow is not None:
            follow.close(clean)
        running.stop(timeout_s=settings.supervisor.stop_timeout_s)
        _say(out, "stopped")
    return 0


def _waiting_line(left: dict[Stage, int], remaining_s: float) -> str:
    busy = ", ".join(f"{stage}: {n} messages" for stage, n in left.items() if n)
    return f"  waiting for {busy} ({remaining_s:.0f} s left)"


def _wait_caught_up(
    cfg: Settings, stages: tuple[Stage, ...], deadline: float, stop: _Stop, out: TextIO
) -> dict[Stage, int]:
    """Wait until ``stages`` have consumed everything, the deadline passes or a second stop request comes."""
    last_line = 0.0
    while True:
        left = {s: n for s, n in drain.pending(cfg).items() if s in stages}
        if not any(left.values()) or time.monotonic() >= deadline or stop.requested > 1:
            return left
        if time.monotonic() - last_line >= 2:
            _say(out, _waiting_line(left, deadline - time.monotonic()))
            last_line = time.monotonic()
        time.sleep(0.3)


def shutdown(
    cfg: Settings,
    running: Running,
    data: Path,
    persist: bool,
    stop: _Stop,
    out: TextIO,
    follow: journal.Journal | None,
) -> bool:
    """The ordered stop; True when it completed (drained or left-overs kept, snapshot written)."""
    t0 = time.monotonic()
    deadline = t0 + cfg.supervisor.drain_timeout_s
    grace = cfg.supervisor.stop_timeout_s
    remove_stack_file(cfg)
    _say(out, "stopping: no new input (stack file removed); ingest: waiting for the inbox to be consumed")
    left = _wait_caught_up(cfg, ("ingest",), deadline, stop, out)
    for w in running.workers:
        if w.stage == "ingest":
            w.terminate()  # closes the push API; whatever it still sends is caught by the replay file below
    _say(
        out,
        "ingest: stopping (push API closing)"
        + (f", {left['ingest']} inbox messages left" if left["ingest"] else ""),
    )
    rest: tuple[Stage, ...] = ("dedupe", "enrich", "index")
    _say(
        out,
        "dedupe, enrich, index: waiting until they have consumed and committed everything "
        f"(at most {max(0.0, deadline - time.monotonic()):.0f} s)",
    )
    left = _wait_caught_up(cfg, rest, deadline, stop, out)
    busy = ", ".join(f"{s}: {n}" for s, n in left.items() if n)
    _say(out, "workers: stopping" + (f" with messages left ({busy})" if busy else ", all caught up"))
    killed = running.stop_workers(timeout_s=grace)
    if killed:
        _say(out, f"  {len(killed)} workers did not stop within {grace:.0f} s and were killed")
    kept, dead = drain.write_replay(cfg, data)
    if kept or dead:
        _say(
            out,
            f"broker: {kept} messages not consumed and {dead} dead letters written to {data / drain.REPLAY_FILE} (sent first at the next start)",
        )
    else:
        _say(out, "broker: nothing left")
    if persist:
        if follow is not None:
            follow.poll()
        _say(out, "search: writing the snapshot")
        s = take_snapshot(cfg, data)
        _say(
            out,
            f"search: snapshot of {s.total} documents written to {s.path} in {s.seconds:.1f} s ({s.bytes / 1e6:.1f} MB)",
        )
    _say(out, f"servers: stopping (drained in {time.monotonic() - t0:.1f} s)")
    return True
