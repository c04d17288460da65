"""deploy/kibana: saved objects that the init service imports through Kibana's Saved Objects API."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

from services.common.settings import ElasticSettings

from .support import AGGREGATABLE, KIBANA_DIR, kibana_field_uses, saved_objects, template_fields

OLDEST_KIBANA = (8, 9, 0)


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    objs = saved_objects()
    assert objs, f"no saved objects in {KIBANA_DIR}"
    return objs


def by_type(objects: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["type"] == type_]


def version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_saved_objects_file_is_what_its_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("kibana_saved_objects", KIBANA_DIR / "saved_objects.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (KIBANA_DIR / "newsflow.ndjson").read_text(encoding="utf-8") == module.render(), (
        "deploy/kibana/newsflow.ndjson is stale: run .venv/bin/python deploy/kibana/saved_objects.py"
    )


def test_data_view_reads_the_articles_alias_with_published_at_as_time_field(
    objects: list[dict[str, Any]],
) -> None:
    [view] = by_type(objects, "index-pattern")
    assert view["attributes"]["title"] == ElasticSettings().alias == "newsflow-articles"
    assert view["attributes"]["timeFieldName"] == "published_at"


def test_every_reference_points_at_an_object_in_the_import(objects: list[dict[str, Any]]) -> None:
    ids = {(o["type"], o["id"]) for o in objects}
    assert len(ids) == len(objects), "two objects share a type and id: the second overwrites the first"
    position = {(o["type"], o["id"]): i for i, o in enumerate(objects)}
    for i, obj in enumerate(objects):
        for ref in obj["references"]:
            key = (ref["type"], ref["id"])
            assert key in ids, f"{obj['id']} refers to missing {key}"
            assert position[key] < i, f"{obj['id']} comes before {key}, which it refers to"


def test_every_dashboard_panel_has_its_reference(objects: list[dict[str, Any]]) -> None:
    for board in by_type(objects, "dashboard"):
        names = {ref["name"] for ref in board["references"]}
        for panel in json.loads(board["attributes"]["panelsJSON"]):
            assert f"{panel['panelIndex']}:{panel['panelRefName']}" in names, panel["panelIndex"]


def test_dashboard_shows_articles_over_time_top_entities_outlets_and_duplicates(
    objects: list[dict[str, Any]],
) -> None:
    [board] = by_type(objects, "dashboard")
    titles = {o["id"]: o["attributes"]["title"] for o in objects}
    shown = {titles[ref["id"]] for ref in board["references"]}
    assert {
        "Articles over time",
        "Top people",
        "Top places",
        "Top organizations",
        "Top outlets",
        "Stories with the most copies",
    } <= shown
    fields = {o["attributes"]["title"]: set(kibana_field_uses(o)) for o in objects}
    assert "published_at" in fields["Articles over time"]
    assert {"persons"} <= fields["Top people"] and {"places"} <= fields["Top places"]
    assert {"orgs"} <= fields["Top organizations"] and {"outlet"} <= fields["Top outlets"]
    assert "duplicate_count" in fields["Stories with the most copies"]


def test_dashboard_shows_events_by_size_and_entities_by_knowledge_base_id(
    objects: list[dict[str, Any]],
) -> None:
    [board] = by_type(objects, "dashboard")
    titles = {o["id"]: o["attributes"]["title"] for o in objects}
    shown = {titles[ref["id"]] for ref in board["references"]}
    assert {"Events by size", "Top entities (knowledge base)"} <= shown
    fields = {o["attributes"]["title"]: set(kibana_field_uses(o)) for o in objects}
    assert "event_id" in fields["Events by size"]
    assert fields["Top entities (knowledge base)"] & {"kb_names", "kb_ids"}


def test_every_field_kibana_uses_exists_in_the_index_template(objects: list[dict[str, Any]]) -> None:
    mapped = template_fields()
    missing = {(o["id"], f) for o in objects for f in kibana_field_uses(o) if f not in mapped}
    assert not missing, f"fields not in schemas/index-template.json: {sorted(missing)}"


def test_fields_kibana_aggregates_or_sorts_on_are_aggregatable(objects: list[dict[str, Any]]) -> None:
    mapped = template_fields()
    bad = {
        (o["id"], f, mapped.get(f))
        for o in objects
        for f, how in kibana_field_uses(o).items()
        if how == "aggregate" and mapped.get(f) not in AGGREGATABLE
    }
    assert not bad, f"text or nested fields cannot be aggregated or sorted on: {sorted(bad, key=str)}"


def test_placeholder_documents_are_left_out_of_every_view(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        source = obj["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if source and obj["type"] != "dashboard":
            assert "not pending : true" in json.loads(source)["query"]["query"], obj["id"]


def test_saved_objects_import_into_kibana_8_9_and_later(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        assert version(obj["coreMigrationVersion"]) <= OLDEST_KIBANA, obj["id"]
        assert version(obj["typeMigrationVersion"]) <= OLDEST_KIBANA, (
            f"{obj['id']}: a Kibana older than typeMigrationVersion refuses the import"
        )
        for text in (
            v for v in obj["attributes"].values() if isinstance(v, str) and v.startswith(("{", "["))
        ):
            json.loads(text)  # visState, panelsJSON, ... are JSON inside JSON
