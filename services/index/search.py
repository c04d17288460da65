"""Search the index the way a reader would: one hit per story, highlights, facets."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

FACETS = {"people": "persons", "organizations": "orgs", "places": "places", "outlets": "outlet"}


def build_query(text: str, entity: str | None = None, since: str | None = None) -> dict[str, Any]:
    must: list[dict[str, Any]] = []
    if text.strip() and text.strip() != "*":
        must.append({"multi_match": {"query": text, "fields": ["title^2", "body"]}})
    filters: list[dict[str, Any]] = [{"term": {"pending": False}}]
    if entity:
        filters.append({"term": {"entity_ids": entity}})
    if since:
        filters.append({"range": {"published_at": {"gte": since}}})
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


def search(
    es: Elasticsearch,
    alias: str,
    text: str,
    *,
    entity: str | None = None,
    since: str | None = None,
    size: int = 10,
) -> dict[str, Any]:
    resp = es.search(
        index=alias,
        size=size,
        query=build_query(text, entity, since),
        collapse={"field": "event_id"},
        highlight={"fields": {"title": {}, "body": {"fragment_size": 160, "number_of_fragments": 2}}},
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
                "highlight": h.get("highlight", {}),
            }
        )
    aggs = resp.get("aggregations", {})
    return {
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
