from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.records import DuplicateArticle, DuplicateRef, EnrichedArticle, Entity, Trace
from services.index import logic
from services.index.template import mapping_properties

NOW = datetime(2024, 1, 2, tzinfo=UTC)


def enriched(**over: object) -> EnrichedArticle:
    base = dict(
        id="a1",
        trace=Trace(ingest_id="i", source="s.txt"),
        source="s.txt",
        body="b",
        title="t",
        event_id="e1",
        content_hash="h",
        ingested_at=NOW,
        entities=[
            Entity(id="person:1", name="Vladimir Putin", type="PERSON", mentions=3),
            Entity(id="gpe:1", name="Kyiv", type="GPE", mentions=1),
            Entity(id="org:1", name="Reuters", type="ORG", mentions=1),
        ],
    )
    base.update(over)
    return EnrichedArticle(**base)  # type: ignore[arg-type]


def dup(key: str, original: str = "a1") -> DuplicateArticle:
    ref = DuplicateRef(
        source=f"{key}.txt", kind="exact", similarity=1.0, seen_at=NOW, article_id="x", ingest_key=key
    )
    return DuplicateArticle(
        original_id=original,
        event_id="e1",
        duplicate=ref,
        trace=Trace(ingest_id=key, source=f"{key}.txt"),
        ingested_at=NOW,
    )


def test_document_has_the_knowledge_base_identities_of_its_entities_once_each() -> None:
    ents = [
        Entity(
            id="wikidata:Q7747",
            name="Putin",
            type="PERSON",
            mentions=2,
            kb_id="wikidata:Q7747",
            kb_name="Vladimir Putin",
        ),
        Entity(
            id="geonames:690791",
            name="Ukraine",
            type="GPE",
            mentions=1,
            kb_id="geonames:690791",
            kb_name="Ukraine",
        ),
        Entity(
            id="geonames:690791#norp",
            name="Ukrainian",
            type="NORP",
            mentions=1,
            kb_id="geonames:690791",
            kb_name="Ukraine",
        ),
        Entity(id="local:person:ab12", name="Ivan Petrov", type="PERSON", mentions=1),
    ]
    doc = logic.to_document(enriched(entities=ents), NOW)
    assert doc["kb_ids"] == ["geonames:690791", "wikidata:Q7747"]
    assert doc["kb_names"] == ["Ukraine", "Vladimir Putin"]
    assert set(doc) <= set(mapping_properties())


def test_document_has_flat_entity_fields_for_kibana_terms_aggregations() -> None:
    doc = logic.to_document(enriched(), NOW)
    assert doc["persons"] == ["Vladimir Putin"] and doc["persons_ids"] == ["person:1"]
    assert doc["places"] == ["Kyiv"] and doc["orgs"] == ["Reuters"]
    assert doc["entity_ids"] == ["person:1", "gpe:1", "org:1"]


def test_every_document_field_is_mapped_in_the_index_template() -> None:
    doc = logic.to_document(enriched(), NOW)
    props = mapping_properties()
    assert set(doc) <= set(props)
    assert {"duplicates", "duplicate_count"} <= set(props)


def test_new_document_upsert_starts_without_duplicates_and_keeps_existing_ones() -> None:
    meta, body = logic.document_actions("alias", logic.to_document(enriched(), NOW))
    assert meta == {"update": {"_index": "alias", "_id": "a1"}}
    assert "duplicates" not in body["doc"], "a partial update must not wipe duplicates recorded first"
    assert body["upsert"]["duplicates"] == [] and body["upsert"]["duplicate_count"] == 0


def test_recording_a_duplicate_twice_changes_nothing() -> None:
    merged = logic.merge_duplicates([], [dup("k1").duplicate])
    assert merged is not None and len(merged) == 1
    assert logic.merge_duplicates(merged, [dup("k1").duplicate]) is None


def test_duplicate_of_a_missing_original_creates_a_pending_stub() -> None:
    meta, body = logic.duplicate_actions("alias", "a1", [dup("k1"), dup("k2")], None)
    assert "create" in meta
    assert body["pending"] is True and body["duplicate_count"] == 2


def test_duplicate_of_an_indexed_original_is_a_guarded_partial_update() -> None:
    current = {"_index": "idx-v1", "_seq_no": 7, "_primary_term": 1, "_source": {"duplicates": []}}
    meta, body = logic.duplicate_actions("alias", "a1", [dup("k1")], current)
    assert meta["update"]["if_seq_no"] == 7 and meta["update"]["_index"] == "idx-v1"
    assert body["doc"]["duplicates"] == [dup("k1").duplicate.model_dump(mode="json")]
    assert body["doc"]["duplicate_count"] == 1


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "ok"),
        (201, "ok"),
        (409, "conflict"),
        (429, "retry"),
        (503, "retry"),
        (500, "retry"),
        (400, "reject"),
        (404, "reject"),
    ],
)
def test_bulk_item_status_decides_retry_or_dead_letter(status: int, outcome: str) -> None:
    assert logic.classify(status) == outcome


def test_mapping_errors_are_named_as_such() -> None:
    assert logic.reject_reason(400, {"type": "mapper_parsing_exception"}) == "mapping-error"
    assert logic.reject_reason(400, {"type": "document_parsing_exception"}) == "mapping-error"
    assert logic.reject_reason(404, {"type": "index_not_found_exception"}) == "http-404"


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    assert logic.backoff_delay(0, 0.2, 10, 0.999) < 0.2
    assert 0.79 < logic.backoff_delay(2, 0.2, 10, 0.999) < 0.8
    assert logic.backoff_delay(20, 0.2, 10, 0.999) <= 10
    assert logic.backoff_delay(5, 0.2, 10, 0.0) == 0.0
