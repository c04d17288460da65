"""How copies are recorded on their original: the first sources kept, every copy counted once (issue 16 item 6)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.records import DuplicateArticle, DuplicateRef, Trace
from services.index import logic

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def dup(i: int, kind: str = "near", host: str = "www.wire.example") -> DuplicateArticle:
    ref = DuplicateRef(
        source=f"c{i}",
        url=f"https://{host}/{i}",
        kind=kind,  # type: ignore[arg-type]
        similarity=0.9,
        seen_at=NOW,
        article_id=f"c{i}",
        ingest_key=f"k{i}",
    )
    return DuplicateArticle(
        original_id="o",
        event_id="e",
        duplicate=ref,
        trace=Trace(ingest_id=f"k{i}", source=f"c{i}"),
        ingested_at=NOW,
    )


def applied(
    current: dict[str, object] | None, dups: list[DuplicateArticle], **kw: object
) -> dict[str, object]:
    acts = logic.duplicate_actions("alias", "o", dups, current, **kw)  # type: ignore[arg-type]
    body = acts[1]
    fields = body.get("doc", body)
    src = dict((current or {}).get("_source", {}))  # type: ignore[call-overload]
    src.update(fields)
    return {"_index": "v1", "_seq_no": 1, "_primary_term": 1, "_source": src}


def test_the_document_keeps_the_first_sources_and_counts_every_copy_by_kind_and_outlet() -> None:
    cur = applied(
        None, [dup(i, "exact" if i % 3 == 0 else "near", f"o{i % 2}.example") for i in range(30)], keep=5
    )
    src = cur["_source"]
    assert [d["ingest_key"] for d in src["duplicates"]] == ["k0", "k1", "k2", "k3", "k4"]  # type: ignore[index]
    assert src["duplicate_count"] == 30  # type: ignore[index]
    assert src["duplicate_kinds"] == {"exact": 10, "near": 20, "rewrite": 0}  # type: ignore[index]
    assert {o["outlet"]: o["count"] for o in src["duplicate_outlets"]} == {"o0.example": 15, "o1.example": 15}  # type: ignore[index]


def test_a_copy_already_counted_is_not_counted_again() -> None:
    cur = applied(None, [dup(i) for i in range(10)], keep=3)
    # the last update's copies (their sources-index entries maybe not written yet): known from the document
    assert logic.duplicate_actions("alias", "o", [dup(9)], cur, keep=3) == []
    # an older copy beyond the kept ones: known from the sources index
    assert logic.duplicate_actions("alias", "o", [dup(5)], cur, keep=3, counted={"k5"}) == []
    more = applied(cur, [dup(5), dup(10)], keep=3, counted={"k5"})
    assert more["_source"]["duplicate_count"] == 11  # type: ignore[index]


def test_a_document_from_before_the_counts_is_counted_from_its_sources() -> None:
    legacy = {
        "_index": "v1",
        "_seq_no": 3,
        "_primary_term": 1,
        "_source": {
            "duplicates": [dup(i).duplicate.model_dump(mode="json") for i in range(4)],
            "duplicate_count": 4,
        },
    }
    src = applied(legacy, [dup(4, "rewrite")])["_source"]
    assert src["duplicate_count"] == 5  # type: ignore[index]
    assert src["duplicate_kinds"] == {"exact": 0, "near": 4, "rewrite": 1}  # type: ignore[index]
