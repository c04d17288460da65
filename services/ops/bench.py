"""``newsflow bench``: the whole pipeline on this machine against bare spaCy NER on the same texts and cores.

Runs the embedded stack with the four workers (``--enrich-workers`` NER processes), pushes every article
(optionally paced with ``--rate``) and waits until each is indexed or dead-lettered. Bare ``nlp.pipe`` NER-only
throughput on the same texts with the same number of processes is measured before and after the pipeline run and
the ratio uses their mean: on a shared machine one measurement alone drifted by up to 18 % between runs of the same
code, which moved the ratio as much. ``--ner-rate`` gives the baseline instead (``make bench`` measures it in its
full-speed run and gives it to the paced and the no-linking runs, so their figures compare against the same one).
"""

from __future__ import annotations

import base64
import os
import platform
import random
import re
import statistics
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.kafka import producer
from services.common.records import Article, InboxItem, utcnow
from services.common.settings import Settings
from services.ingest import logic as ingest_logic
from services.ingest.reader import read_articles
from services.ops.init import init, settings_for
from services.ops.supervisor import Running, start_servers
from services.ops.tracking import Tracker

_WORD = re.compile(r"[A-Za-z]+")


HEADLINE = (
    "articles",
    "e2e_articles_per_s",
    "ner_only_articles_per_s",
    "ratio",
    "dedupe_ms_per_article",
    "latency_p50_s",
    "latency_p99_s",
)
"""The figures every bench report leads with (the command's table and `make bench`'s)."""


def variant(text: str, r: int) -> str:
    """A distinct text of the same shape and language: the article's own words shuffled (seeded by ``r``), so
    repeats are neither copies, near-copies nor rewrites of each other, yet still English with the same names
    for NER. ``r == 0`` is the original."""
    if r == 0:
        return text
    words = _WORD.findall(text)
    random.Random(r).shuffle(words)
    it = iter(words)
    return _WORD.sub(lambda _m: next(it), text)


@dataclass
class Input:
    source: str
    data: bytes
    text: str
    language: str | None = None


def load_inputs(paths: list[str], repeat: int, settings: Settings) -> list[Input]:
    base: list[tuple[str, Article]] = []
    for res in read_articles(paths, settings.ingest, utcnow(), id_prefix="bench"):
        if isinstance(res, Article):  # refused files are reported on stderr by the reader
            base.append((res.trace.source, res))
    out = []
    for r in range(repeat):
        for source, art in base:
            body = variant(art.body, r)
            title = variant(art.title, r)
            data = (title + "\n\n" + body).encode() if title else body.encode()
            out.append(Input(f"{source}#{r}", data, body, art.language))
    return out


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, IndexError, ValueError):
        return 0.0


def _stage_seconds(running: Running) -> dict[str, float]:
    out: dict[str, float] = {}
    pat = re.compile(r'^newsflow_processing_seconds_sum\{stage="(\w+)"\} ([0-9.e+-]+)$', re.M)
    for w in running.workers:
        try:
            with urllib.request.urlopen(w.url + "/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            continue
        for stage, val in pat.findall(text):
            out[stage] = round(out.get(stage, 0.0) + float(val), 3)
    return out


def bare_ner(texts: list[str], settings: Settings, n_process: int) -> float:
    """Articles per second of bare ``nlp.pipe`` (NER components only) on ``texts``."""
    from services.enrich.model import SpacyNer

    ner = SpacyNer(settings.enrich.model, batch_size=settings.enrich.batch_size, n_process=n_process)
    cut = [t[: settings.enrich.max_chars] for t in texts]
    t0 = time.perf_counter()
    ner.pipe(cut)
    return len(texts) / (time.perf_counter() - t0)


def dedupe_ms(inputs: list[Input], settings: Settings) -> float:
    """Milliseconds per article of the offline dedupe decision over these inputs."""
    from services.dedupe.offline import OfflineDeduper, warm

    d = OfflineDeduper(settings.dedupe)  # the same decision logic as the workers, over an in-memory store
    warm()  # the compiled loops loaded before the clock starts, as a worker loads them before its first batch
    arts = []
    for i, inp in enumerate(inputs):
        for res in ingest_logic.parse_bytes(inp.data, inp.source, f"b{i}", utcnow(), settings.ingest):
            if isinstance(res, Article):
                arts.append(res)
    t0 = time.perf_counter()
    for a in arts:
        d.decide(a)
    return 1000 * (time.perf_counter() - t0) / max(1, len(arts))


def run(
    settings: Settings,
    paths: list[str],
    *,
    repeat: int = 1,
    rate: float | None = None,
    enrich_workers: int = 2,
    timeout_s: float = 3600,
    progress: Any = None,
    ner_rate: float | None = None,
) -> dict[str, Any]:
    inputs = load_inputs(paths, repeat, settings)
    if not inputs:
        raise SystemExit("no articles found in the given paths")
    # Bare NER on the texts the pipeline runs NER on: enrich skips non-English articles (it tags their language).
    texts = [inp.text for inp in inputs if inp.language in (None, "en")]
    per_input = len(inputs) / max(1, len(texts))
    ner_before = None if ner_rate is not None else bare_ner(texts, settings, enrich_workers) * per_input
    running = start_servers(settings)
    try:
        cfg = settings_for(settings, running)
        init(cfg)
        for stage in ("ingest", "dedupe", "index"):
            running.start_worker(stage)
        for _ in range(enrich_workers):
            running.start_worker("enrich")
        running.wait_ready(180)
        cpu_at_start = {pid: _cpu_s(pid) for pid in [os.getpid(), *(w.proc.pid for w in running.workers)]}
        if running.stack is not None:
            for proc in (running.stack.broker.proc, running.stack.search.proc):
                if proc is not None:
                    cpu_at_start[proc.pid] = _cpu_s(proc.pid)
        tracker = Tracker(cfg)
        prod = producer(cfg.kafka, linger_ms=20, batch_size=256 * 1024)
        t0 = time.monotonic()
        for i, inp in enumerate(inputs):
            iid = uuid.uuid4().hex
            tracker.expect(iid)
            item = InboxItem(
                ingest_id=iid, source=inp.source, kind="txt", content_b64=base64.b64encode(inp.data).decode()
            )
            prod.send(f"{cfg.kafka.topic_prefix}.inbox", key=iid.encode(), value=item.to_json())
            if rate:
                time.sleep(max(0.0, t0 + (i + 1) / rate - time.monotonic()))
            if progress and i % 50 == 0:
                tracker.poll()
                progress(len(tracker.expected) - len(tracker.pending()), len(inputs))
        prod.flush()
        prod.close()

        def show(t: Tracker) -> None:
            if progress:
                progress(len(t.expected) - len(t.pending()), len(inputs))

        if not tracker.wait(timeout_s, on_progress=show):
            raise TimeoutError(f"{len(tracker.pending())} articles not finished after {timeout_s}s")
        elapsed = time.monotonic() - t0
        lat = sorted((a.indexed_at - a.ingested_at).total_seconds() for a in tracker.acks)
        stage_seconds = _stage_seconds(running)
        rss: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for w in running.workers:
            rss[w.stage] = max(rss.get(w.stage, 0.0), _rss_mb(w.proc.pid))
            cpu[w.stage] = round(
                cpu.get(w.stage, 0.0) + _cpu_s(w.proc.pid) - cpu_at_start.get(w.proc.pid, 0), 2
            )
        servers_rss: dict[str, float] = {}
        if running.stack is not None:
            for name, proc in (("broker", running.stack.broker.proc), ("search", running.stack.search.proc)):
                if proc is not None:
                    cpu[name] = round(_cpu_s(proc.pid) - cpu_at_start.get(proc.pid, 0), 2)
                    servers_rss[name] = _rss_mb(proc.pid)
        cpu["bench"] = round(_cpu_s(os.getpid()) - cpu_at_start[os.getpid()], 2)  # producer and tracker
        tracker.close()
    finally:
        running.stop()
    ner_after = None
    if ner_before is not None:
        ner_after = bare_ner(texts, settings, enrich_workers) * per_input
        ner_rate = (ner_before + ner_after) / 2
    assert ner_rate is not None
    e2e = len(inputs) / elapsed
    return {
        "articles": len(inputs),
        "e2e_articles_per_s": round(e2e, 2),
        "ner_only_articles_per_s": round(ner_rate, 2),
        "ratio": round(e2e / ner_rate, 3),
        # the two measurements of the baseline (None when it was given with --ner-rate)
        "ner_only_before_articles_per_s": round(ner_before, 2) if ner_before is not None else None,
        "ner_only_after_articles_per_s": round(ner_after, 2) if ner_after is not None else None,
        "dedupe_ms_per_article": round(dedupe_ms(inputs, settings), 3),
        "latency_p50_s": round(statistics.median(lat), 3) if lat else None,
        "latency_p99_s": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 3) if lat else None,
        "stage_seconds": stage_seconds,
        "rss_mb": rss,
        "servers_rss_mb": servers_rss,
        "cpu_seconds": cpu,
        "dead_lettered": len(tracker.dead),
        "duplicates": sum(1 for a in tracker.acks if a.kind == "duplicate"),
        "ner_texts": len(texts),
        "rate": rate,
        "enrich_workers": enrich_workers,
        "words": sum(len(inp.text.split()) for inp in inputs),
        "machine": {
            "cpus": __import__("os").cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmark the whole pipeline against bare NER on this machine")
    p.add_argument("paths", nargs="+", help="article files or directories")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--repeat", type=int, default=1, help="repeat the texts (as distinct variants) N times")
    p.add_argument("--rate", type=float, help="pace the input at this many articles per second")
    p.add_argument("--enrich-workers", type=int, default=2, help="enrich processes (and bare NER processes)")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument(
        "--ner-rate",
        type=float,
        help="bare NER articles/s to compare against (default: measured before and after the run, their mean)",
    )
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: Any, settings: Settings) -> int:
    import json
    import sys

    from services.common import logs

    logs.setup("WARNING")
    if args.json:
        result = run(
            settings,
            args.paths,
            repeat=args.repeat,
            rate=args.rate,
            enrich_workers=args.enrich_workers,
            timeout_s=args.timeout,
            ner_rate=args.ner_rate,
        )
        print(json.dumps(result))
        return 0
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
    ) as bar:
        task = bar.add_task("articles indexed or dead-lettered", total=None)
        result = run(
            settings,
            args.paths,
            repeat=args.repeat,
            rate=args.rate,
            enrich_workers=args.enrich_workers,
            timeout_s=args.timeout,
            ner_rate=args.ner_rate,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    t = Table("figure", "value", title="Newsflow bench")
    for key in HEADLINE:
        t.add_row(key, str(result[key]))
    for stage, sec in result["stage_seconds"].items():
        t.add_row(f"stage_seconds.{stage}", str(sec))
    for stage, mb in result["rss_mb"].items():
        t.add_row(f"rss_mb.{stage}", str(mb))
    Console().print(t)
    return 0
