"""What every dedupe state store provides: the three primitives of the protocol in ``services.dedupe.engine``.

1. ``register``: a signature becomes visible to every later ``candidates`` call, in any worker, once it returns;
2. ``candidates``: bounded retrieval of arrivals that may be copies (same exact key or LSH band) or reports of the
   same story/event (shared rare names within ``event_window_days``);
3. ``decide``: a decision is created once per ingest key; a second writer gets the first decision back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.common.records import Article
from services.dedupe.logic import Decision, Signature


@dataclass(frozen=True)
class Entry:
    """An arrival to register: its signature and the article (the Elasticsearch store keeps the body)."""

    sig: Signature
    article: Article


class StoreUnavailable(Exception):
    """The store did not answer as it must; the caller retries the whole batch (nothing was sent)."""


class DedupeStore(Protocol):
    async def decisions(self, keys: Sequence[str]) -> dict[str, Decision]:
        """Final decisions of these ingest keys, where there are any."""
        ...

    async def register(self, entries: Sequence[Entry]) -> None:
        """Make these signatures retrievable by every later ``candidates`` call (idempotent per ingest key)."""
        ...

    async def candidates(self, sigs: Sequence[Signature]) -> dict[str, list[str]]:
        """For each signature, ingest keys of registered arrivals that may be copies or same-event reports,
        best first, bounded by the settings. Never the signature itself."""
        ...

    async def fetch(self, keys: Sequence[str]) -> dict[str, tuple[Signature, Decision | None]]:
        """Signatures of these ingest keys and their decisions (None while pending)."""
        ...

    async def decide(self, decisions: Sequence[Decision]) -> dict[str, Decision]:
        """Write each decision unless one exists for its ingest key; return the decision that holds. The event
        merges a decision carries are recorded too, each once (the first merge of an event holds)."""
        ...

    async def merged_into(self, event_ids: Sequence[str]) -> dict[str, str]:
        """For each of these events that was found to be another, the event it was merged into (one step)."""
        ...

    async def expire(self, before: datetime) -> int:
        """Forget arrivals whose time (published_at, else ingested_at) is before ``before``; how many went."""
        ...
