"""Search the index the way a reader would: one hit per story, highlights, facets.

Highlights are safe to render as HTML: the search server is asked to HTML-encode them (``encoder: html``)
and every fragment is checked again here (``safe_fragment``), so the only markup in a highlight is the
``<em>``/``</em>`` around the matched words; a ``<script>`` in an article's title comes back as
``&lt;script&gt;``. Titles and bodies themselves are stored and returned as text, never HTML.
"""

from __future__ import annotations

import re
from typing import Any

from elasticsearch import Elasticsearch

FACETS = {"people": "persons", "organizations": "orgs", "places": "places", "outlets": "outlet"}
HIGHLIGHT: dict[str, Any] = {
    "encoder": "html",
    "pre_tags": ["<em>"],
    "post_tags": ["</em>"],
    "fields": {"title": {}, "body": {"fragment_size": 160, "number_of_fragments": 2}},
}
_EM = re.compile(r"(</?em>)")
_UNSAFE = {"<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


def safe_fragment(fragment: str) -> str:
    """A highlight fragment with no markup but ``<em>``/``</em>``: any other ``<``, ``>`` or quote is
    encoded. Entities the server already wrote (``&lt;``) are left as they are, so nothing is encoded
    twice; a server that ignores ``encoder: html`` still yields a fragment safe to render."""
    parts = _EM.split(fragment)
    return "".join(p if _EM.fullmatch(p) else "".join(_UNSAFE.get(ch, ch) for ch in p) for p in parts)


def build_query(
    text: str, entity: str | None = None, since: str | None = None, events: list[str] | None = None
) -> dict[str, Any]:
    must: list[dict[str, Any]] = []
    if text.strip() and text.strip() != "*":
        must.append({"multi_match": {"query": text, "fields": ["title^2", "body"]}})
    filters: list[dict[str, Any]] = [{"term": {"pending": False}}]
    if entity:
        # An entity id, or a knowledge-base id ("geonames:703448", "wikidata:Q7747"): a linked entity's id is
        # its kb_id, and kb_ids also holds the countries demonyms link to ("Ukrainian" -> Ukraine).
        filters.append(
            {
                "bool": {
                    "should": [{"term": {"entity_ids": entity}}, {"term": {"kb_ids": entity}}],
                    "minimum_should_match": 1,
                }
            }
        )
    if events:
        filters.append({"terms": {"event_id": events}})
    if since:
        filters.append({"range": {"published_at": {"gte": since}}})
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


def event_members(es: Elasticsearch, dedupe_index: str, event_id: str, depth: int = 8) -> list[str]:
    """The event ids that are one event with ``event_id``: dedupe records a merge (``evm:<id>`` documents,
    ``merged_into``) rather than rewriting articles' event ids, so an event is its root and every event merged
    into it, at any depth. The root first."""
    root = event_id
    for _ in range(depth):  # up: the event this one was merged into, and so on
        got = es.options(ignore_status=404).get(index=dedupe_index, id=f"evm:{root}")
        if not got.get("found"):
            break
        root = str(got["_source"]["merged_into"])
    members = [root]
    frontier = [root]
    for _ in range(depth):  # down: events merged into any of these
        if not frontier:
            break
        resp = es.options(ignore_status=404).search(
            index=dedupe_index,
            query={"bool": {"filter": [{"terms": {"merged_into": frontier}}]}},
            source_includes=["event_id"],
            size=1000,
        )
        hits = resp.get("hits", {}).get("hits", [])
        frontier = [str(h["_source"]["event_id"]) for h in hits if h["_source"]["event_id"] not in members]
        members += frontier
    return members


def search(
    es: Elasticsearch,
    alias: str,
    text: str,
    *,
    entity: str | None = None,
    since: str | None = None,
    size: int = 10,
    event: str | None = None,
    dedupe_index: str | None = None,
) -> dict[str, Any]:
    """One hit per event (collapsed on ``event_id``); with ``event``, every article of that event instead (the
    merged events resolved through ``dedupe_index``), oldest first."""
    events = None
    if event:
        events = event_members(es, dedupe_index, event) if dedupe_index else [event]
    extra: dict[str, Any] = (
        {"sort": [{"published_at": {"order": "asc", "missing": "_last"}}, {"ingested_at": "asc"}]}
        if events
        else {"collapse": {"field": "event_id"}}
    )
    resp = es.search(
        index=alias,
        size=size,
        query=build_query(text, entity, since, events),
        **extra,
        highlight=HIGHLIGHT,
        aggs={name: {"terms": {"field": field, "size": 10}} for name, field in FACETS.items()}
        | {"stories": {"cardinality": {"field": "event_id"}}},
        source_excludes=["body", "entities"],
    )
    hits = []
    for h in resp["hits"]["hits"]:
        src = h["_source"]
        hits.append(
            {
                "id": h["_id"],
                "score": h.get("_score"),
                "title": src.get("title"),
                "source": src.get("source"),
                "outlet": src.get("outlet"),
                "url": src.get("url"),
                "published_at": src.get("published_at"),
                "event_id": src.get("event_id"),
                "duplicate_count": src.get("duplicate_count", 0),
                "highlight": {
                    field: [safe_fragment(f) for f in fragments]
                    for field, fragments in h.get("highlight", {}).items()
                },
            }
        )
    aggs = resp.get("aggregations", {})
    out: dict[str, Any] = {
        "total_documents": resp["hits"]["total"]["value"],
        "stories": aggs.get("stories", {}).get("value"),
        "hits": hits,
        "facets": {
            name: [
                {"key": b["key"], "documents": b["doc_count"]} for b in aggs.get(name, {}).get("buckets", [])
            ]
            for name in FACETS
        },
    }
    if events:
        out["event"] = {"id": events[0], "merged": events[1:]}
    return out
