"""Single URLs as a source: each page fetched once (safely, see ``fetch.py``) and handed to ingest as is."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from services.common.records import InboxItem, Rejected, Trace
from services.ingest.fetch import Fetched, Fetcher
from services.ingest.sources import Kind, inbox_item

ACCEPT_PAGE = "text/html,application/xhtml+xml,application/json;q=0.9,text/plain;q=0.8,*/*;q=0.5"


class UrlSource:
    """The pages at ``urls``; the final URL after redirects goes with each (it resolves relative links)."""

    def __init__(self, urls: list[str], fetcher: Fetcher) -> None:
        self.urls = list(urls)
        self.fetcher = fetcher
        self.name = "url"

    async def items(self) -> AsyncIterator[InboxItem | Rejected]:
        for url in self.urls:
            yield await fetch_item(self.fetcher, url, ingest_id=uuid.uuid4().hex)


async def fetch_item(
    fetcher: Fetcher, url: str, ingest_id: str, source: str | None = None
) -> InboxItem | Rejected:
    """One page as an inbox item, or the reason it could not be fetched (with a trace)."""
    got = await fetcher.get(url, accept=ACCEPT_PAGE)
    if isinstance(got, Rejected):
        return got.model_copy(
            update={"trace": Trace(ingest_id=ingest_id, record=0, records=1, source=source or url)}
        )
    return inbox_item(ingest_id, source or url, got.content, url=got.url, kind=kind_of(got))


def kind_of(got: Fetched) -> Kind:
    """The format a response declares (its Content-Type), else 'auto' (sniffed by ingest)."""
    ctype = (got.content_type or "").split(";", 1)[0].strip().lower()
    if ctype in ("text/html", "application/xhtml+xml"):
        return "html"
    if ctype in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines"):
        return "jsonl"
    if ctype == "application/json":
        return "json"
    return "auto"
