"""Where inputs come from, behind one small interface: files, RSS/Atom feeds, single URLs.

A source yields inbox items (raw bytes + how to read them) or rejections (an input that could not even be
read); parsing is the ingest worker's, so every input follows one path whatever brought it.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Literal, Protocol, runtime_checkable

from services.common.records import InboxItem, Rejected

Kind = Literal["auto", "txt", "json", "jsonl", "html"]


@runtime_checkable
class Source(Protocol):
    """Something that produces inputs to ingest. ``items()`` may be called again to poll for new ones."""

    name: str

    def items(self) -> AsyncIterator[InboxItem | Rejected]:
        """The inputs available now: each an ``InboxItem``, or a ``Rejected`` (with trace) for one that failed."""
        ...


def inbox_item(
    ingest_id: str, source: str, data: bytes, *, kind: Kind = "auto", url: str | None = None
) -> InboxItem:
    """An inbox item holding ``data`` (base64 on the wire: encodings are detected by ingest)."""
    return InboxItem(
        ingest_id=ingest_id,
        source=source,
        kind=kind,
        url=url,
        content_b64=base64.b64encode(data).decode("ascii"),
    )


__all__ = ["Kind", "Source", "inbox_item"]
