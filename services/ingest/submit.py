"""Client side of ingest: inputs from sources (files, URLs, feeds) sent to a running stack's inbox topic.

``submit`` is ``newsflow ingest``: every input is sent to the inbox, or, when it could not even be read or
fetched, dead-lettered with its reason and counted — *refused* (for good: unreadable file, blocked address,
too large, 4xx) or *failed* (transient: timeout, network, 5xx; a retry may succeed). Each refused or failed
input is one line on stderr (``newsflow: refused SOURCE: REASON (DETAIL)``); the command prints the counts
``{"sent", "refused", "failed"}`` (``--json`` adds the ``problems`` themselves) and exits 1 when any input was
refused or failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from services.common.records import DeadLetter, InboxItem, Rejected
from services.common.settings import Settings
from services.common.topics import names
from services.ingest.fetch import Fetcher, transient
from services.ingest.sources.files import FileSource, display_name, expand

__all__ = ["Submitted", "as_dead_letter", "expand", "max_input_bytes", "read_item", "send", "submit"]


def max_input_bytes(settings: Settings) -> int:
    """Largest input file sent (see ``services.ingest.reader.input_cap``)."""
    return max(settings.ingest.max_article_bytes, settings.ingest.max_html_bytes)


def as_dead_letter(rej: Rejected) -> DeadLetter:
    """An input that could not even be read (too large, unreadable, unreachable) is dead-lettered here."""
    return DeadLetter(stage="ingest", reason=rej.reason, detail=rej.detail, trace=rej.trace)


def read_item(source: str, path: Path, max_bytes: int) -> InboxItem | DeadLetter:
    """An inbox item for the file, or a dead letter when it cannot be sent (unreadable, too large)."""
    got = FileSource([path], max_bytes).read(source, path)  # refuses non-regular files, never blocks
    return as_dead_letter(got) if isinstance(got, Rejected) else got


def send(settings: Settings, producer: KafkaProducer, item: InboxItem | DeadLetter | Rejected) -> str:
    """Send one input (or its dead letter); returns its ingest id."""
    tn = names(settings.kafka.topic_prefix)
    if isinstance(item, Rejected):
        item = as_dead_letter(item)
    if isinstance(item, InboxItem):
        producer.send(tn.inbox, key=item.ingest_id.encode(), value=item.to_json())
        return item.ingest_id
    assert item.trace is not None
    headers = [("stage", b"ingest"), ("reason", item.reason.encode())]
    producer.send(tn.deadletter, key=item.trace.ingest_id.encode(), value=item.to_json(), headers=headers)
    return item.trace.ingest_id


@dataclass
class Submitted:
    """What ``newsflow ingest`` did: inputs sent, refused (for good) and failed (transient), with reasons."""

    sent: int = 0
    refused: int = 0
    failed: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def count(self, item: InboxItem | Rejected) -> None:
        if isinstance(item, InboxItem):
            self.sent += 1
            return
        outcome = "failed" if transient(item) else "refused"
        if outcome == "failed":
            self.failed += 1
        else:
            self.refused += 1
        source = item.trace.source if item.trace else "?"
        self.problems.append(
            {"source": source, "outcome": outcome, "reason": item.reason, "detail": item.detail}
        )
        print(f"newsflow: {outcome} {source}: {item.reason} ({item.detail})", file=sys.stderr)

    @property
    def ok(self) -> bool:
        return not (self.refused or self.failed)

    def summary(self, with_problems: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"sent": self.sent, "refused": self.refused, "failed": self.failed}
        if with_problems:
            out["problems"] = self.problems
        return out


def submit(
    cfg: Settings,
    producer: KafkaProducer,
    *,
    paths: Sequence[str] = (),
    urls: Sequence[str] = (),
    feeds: Sequence[str] = (),
    poll_every: float = 0,
    quiet: bool = False,
) -> Submitted:
    """Send every input (files, then pages, then feed entries; feeds polled again every ``poll_every`` s
    when set, until interrupted); refused and failed ones are dead-lettered and counted."""
    from services.ingest.progress import progress
    from services.ingest.sources.feeds import FeedSource, FeedState
    from services.ingest.sources.url import UrlSource

    done = Submitted()
    urls, feeds = [display_name(u) for u in urls], [display_name(f) for f in feeds]  # argv may hold any bytes
    if paths:
        files = FileSource(list(paths), max_input_bytes(cfg), follow_symlinks=cfg.ingest.follow_symlinks)
        for item in progress(files.iter_items(), total=len(files), quiet=quiet, description="files"):
            send(cfg, producer, item)
            done.count(item)

    async def remote() -> None:
        async with Fetcher(cfg.ingest) as fetcher:
            sources: list[UrlSource | FeedSource] = []
            if urls:
                sources.append(UrlSource(list(urls), fetcher))
            if feeds:
                state = FeedState.in_data_dir(
                    cfg.data_dir, cfg.ingest.feed_state_path, cfg.ingest.feed_seen_max
                )
                sources.append(FeedSource(list(feeds), fetcher, state))
            while True:
                for source in sources:
                    async for item in source.items():
                        send(cfg, producer, item)
                        done.count(item)
                producer.flush()
                if not poll_every or not feeds:
                    return
                if not quiet:
                    print(json.dumps(done.summary()), file=sys.stderr)
                await asyncio.sleep(poll_every)
                sources = [s for s in sources if isinstance(s, FeedSource)]

    if urls or feeds:
        asyncio.run(remote())
    producer.flush()
    return done
