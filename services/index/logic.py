"""Pure index logic: records -> Elasticsearch documents and bulk actions; bulk item results -> what to do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from services.common.records import DuplicateArticle, DuplicateRef, EnrichedArticle, IndexedAck

PERSON_TYPES = {"PERSON"}
ORG_TYPES = {"ORG"}
PLACE_TYPES = {"GPE", "LOC"}

ItemOutcome = Literal["ok", "conflict", "retry", "reject"]


def to_document(a: EnrichedArticle, indexed_at: datetime) -> dict[str, Any]:
    """The indexed document of an article (without ``duplicates``, which only the duplicate path writes)."""

    def of(types: set[str]) -> tuple[list[str], list[str]]:
        ents = [e for e in a.entities if e.type in types]
        return [e.name for e in ents], [e.id for e in ents]

    persons, persons_ids = of(PERSON_TYPES)
    orgs, orgs_ids = of(ORG_TYPES)
    places, places_ids = of(PLACE_TYPES)
    return {
        "id": a.id,
        "pending": False,
        "title": a.title,
        "body": a.body,
        "source": a.source,
        "outlet": a.outlet,
        "author": a.author,
        "url": a.url,
        "canonical_url": a.canonical_url,
        "language": a.language,
        "event_id": a.event_id,
        "content_hash": a.content_hash,
        "ingest_key": a.trace.ingest_key,
        "published_at": a.published_at.isoformat() if a.published_at else None,
        "ingested_at": a.ingested_at.isoformat(),
        "indexed_at": indexed_at.isoformat(),
        "ner_truncated": a.ner_truncated,
        "entities": [e.model_dump(mode="json") for e in a.entities],
        "entity_ids": [e.id for e in a.entities],
        # Knowledge-base identities: one per real-world entity however it is spelled; a demonym's kb_id is its
        # country's, so "Ukrainian" finds Ukraine, but its name is left out of the names Kibana aggregates on.
        "kb_ids": sorted({e.kb_id for e in a.entities if e.kb_id}),
        "kb_names": sorted({e.kb_name for e in a.entities if e.kb_name and e.type != "NORP"}),
        "persons": persons,
        "persons_ids": persons_ids,
        "orgs": orgs,
        "orgs_ids": orgs_ids,
        "places": places,
        "places_ids": places_ids,
    }


def document_actions(index: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Upsert of an article: a new document starts with no duplicates; an existing one (a stub that holds
    duplicates which arrived first, or the same article replayed) keeps the duplicates it has."""
    return [
        {"update": {"_index": index, "_id": doc["id"]}},
        {"doc": doc, "upsert": {**doc, "duplicates": [], "duplicate_count": 0}},
    ]


def merge_duplicates(
    existing: Iterable[dict[str, Any]], new: Sequence[DuplicateRef]
) -> list[dict[str, Any]] | None:
    """``existing`` plus ``new``, one entry per arrival (``ingest_key``); None when nothing changes (a replay)."""
    merged = list(existing)
    seen = {d.get("ingest_key") for d in merged}
    changed = False
    for ref in new:
        if ref.ingest_key in seen:
            continue
        merged.append(ref.model_dump(mode="json"))
        seen.add(ref.ingest_key)
        changed = True
    return merged if changed else None


DUPLICATES_KEPT = 20
"""Sources kept on an original's document (``duplicates[]``); every other copy is counted (``duplicate_count``,
``duplicate_kinds``, ``duplicate_outlets``) and listed in the sources index (``sources_index``), so one story
syndicated 5,000 times costs the same per copy as one copied twice."""
DUPLICATE_FIELDS = ["duplicates", "duplicate_count", "duplicate_kinds", "duplicate_outlets", "duplicate_last"]
KINDS = ("exact", "near", "rewrite")


def sources_index(alias: str) -> str:
    """The index listing every copy recorded, one document per arrival (``_id``: its ingest key)."""
    return f"{alias}-sources"


def outlet_of(ref: DuplicateRef) -> str:
    """The outlet of a copy, for counts: the host of its URL (``www.`` dropped), else its source."""
    host = urlsplit(ref.url or ref.source).hostname if (ref.url or "://" in ref.source) else None
    return (host or ref.source)[:200].removeprefix("www.")


def source_actions(index: str, dups: Sequence[DuplicateArticle]) -> list[dict[str, Any]]:
    """Create-once entries of the sources index: the full list of copies, whatever the document keeps."""
    acts: list[dict[str, Any]] = []
    for d in dups:
        acts.append({"create": {"_index": index, "_id": d.duplicate.ingest_key}})
        acts.append(
            {
                "original_id": d.original_id,
                "outlet": outlet_of(d.duplicate),
                **d.duplicate.model_dump(mode="json"),
            }
        )
    return acts


def duplicate_actions(
    index: str,
    original_id: str,
    dups: Sequence[DuplicateArticle],
    current: dict[str, Any] | None,
    *,
    keep: int = DUPLICATES_KEPT,
    counted: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Actions recording ``dups`` on the original: an optimistic-concurrency partial update when it exists,
    else a create of a pending stub (the original is still on its way) that the original's upsert completes.

    The document keeps the first ``keep`` sources and exact counts: a copy is counted once, known as counted when
    it is among the kept sources, in ``duplicate_last`` (the copies of the last update, whose sources-index entries
    may not be written yet) or in ``counted`` (found in the sources index, written only after its count)."""
    src = (current or {}).get("_source", {})
    kept = list(src.get("duplicates") or [])
    seen = {d.get("ingest_key") for d in kept} | set(src.get("duplicate_last") or []) | set(counted)
    new: list[DuplicateRef] = []
    for d in dups:
        if d.duplicate.ingest_key not in seen:
            new.append(d.duplicate)
            seen.add(d.duplicate.ingest_key)
    if not new:
        return []
    # documents from before the counts kept every source: their counts are those of the kept list
    kinds = dict(src.get("duplicate_kinds") or {k: sum(1 for x in kept if x.get("kind") == k) for k in KINDS})
    outlets: dict[str, int] = {o["outlet"]: int(o["count"]) for o in src.get("duplicate_outlets") or []}
    if not src.get("duplicate_outlets"):
        for x in kept:
            o = outlet_of(DuplicateRef.model_validate(x))
            outlets[o] = outlets.get(o, 0) + 1
    for ref in new:
        kinds[ref.kind] = kinds.get(ref.kind, 0) + 1
        o = outlet_of(ref)
        outlets[o] = outlets.get(o, 0) + 1
    kept += [r.model_dump(mode="json") for r in new[: max(0, keep - len(kept))]]
    fields = {
        "duplicates": kept,
        "duplicate_count": int(src.get("duplicate_count") or len(src.get("duplicates") or [])) + len(new),
        "duplicate_kinds": {k: kinds.get(k, 0) for k in KINDS},
        "duplicate_outlets": [
            {"outlet": o, "count": n} for o, n in sorted(outlets.items(), key=lambda x: (-x[1], x[0]))
        ],
        "duplicate_last": [r.ingest_key for r in new],
    }
    if current is None:
        return [
            {"create": {"_index": index, "_id": original_id}},
            {"id": original_id, "pending": True, **fields},
        ]
    return [
        {
            "update": {
                "_index": current.get("_index", index),
                "_id": original_id,
                "if_seq_no": current["_seq_no"],
                "if_primary_term": current["_primary_term"],
            }
        },
        {"doc": fields},
    ]


def classify(status: int) -> ItemOutcome:
    """What a bulk item's HTTP status asks for."""
    if 200 <= status < 300:
        return "ok"
    if status == 409:
        return "conflict"
    if status == 429 or status >= 500:
        return "retry"
    return "reject"


def reject_reason(status: int, error: Any) -> str:
    etype = (error or {}).get("type", "") if isinstance(error, dict) else ""
    if status == 400 and ("pars" in etype or "mapp" in etype or "strict" in etype or "illegal" in etype):
        return "mapping-error"
    return f"http-{status}"


def backoff_delay(attempt: int, base: float, cap: float, rand: float) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]; ``rand`` in [0, 1)."""
    return min(cap, base * 2.0**attempt) * rand


def ack_for(item: EnrichedArticle | DuplicateArticle, indexed_at: datetime) -> IndexedAck:
    """The acknowledgement (topic: indexed) of a document written or a duplicate recorded; keyed by the
    original's id."""
    if isinstance(item, DuplicateArticle):
        return IndexedAck(
            article_id=item.duplicate.article_id,
            kind="duplicate",
            original_id=item.original_id,
            trace=item.trace,
            ingested_at=item.ingested_at,
            indexed_at=indexed_at,
        )
    return IndexedAck(
        article_id=item.id,
        kind="document",
        original_id=item.id,
        trace=item.trace,
        ingested_at=item.ingested_at,
        indexed_at=indexed_at,
    )
