"""Writes deploy/kibana/newsflow.ndjson: the Kibana data view, visualizations, saved search and dashboard.

Kibana stores most of a saved object as JSON inside JSON strings; building them here keeps them readable and
consistent. Regenerate after a change (a test checks the file is current):

    .venv/bin/python deploy/kibana/saved_objects.py

Legacy (aggregation-based) visualizations on flat keyword fields: they import into every Kibana from 8.9 on
(``typeMigrationVersion`` is that of 8.9 exports; newer Kibanas migrate them on import). Entities are in the
flat keyword fields ``persons``/``orgs``/``places``/``entity_ids`` (the full list is kept in ``_source`` only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("newsflow.ndjson")

DATA_VIEW_ID = "newsflow-articles"
ALIAS = "newsflow-articles"  # ElasticSettings.alias
TIME_FIELD = "published_at"
# Documents with pending=true are placeholders (a duplicate seen before its original); readers never see them.
QUERY = "not pending : true"
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = {"index-pattern": "8.0.0", "visualization": "8.5.0", "search": "8.0.0", "dashboard": "8.9.0"}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _saved(type_: str, id_: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "attributes": attributes,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "id": id_,
        "managed": False,
        "references": references,
        "type": type_,
        "typeMigrationVersion": TYPE_MIGRATION_VERSION[type_],
    }


def _search_source(query: str = QUERY) -> dict[str, str]:
    return {"searchSourceJSON": _compact({"query": {"query": query, "language": "kuery"}, "filter": [],
                                          "indexRefName": INDEX_REF})}


def _data_view_ref() -> list[dict[str, str]]:
    return [{"id": DATA_VIEW_ID, "name": INDEX_REF, "type": "index-pattern"}]


def data_view() -> dict[str, Any]:
    return _saved("index-pattern", DATA_VIEW_ID, {
        "title": ALIAS,
        "name": "Newsflow articles",
        "timeFieldName": TIME_FIELD,
        "fields": "[]",
        "fieldAttrs": "{}",
        "fieldFormatMap": "{}",
        "runtimeFieldMap": "{}",
        "sourceFilters": "[]",
    }, [])


def _visualization(id_: str, title: str, description: str, vis_type: str, aggs: list[dict[str, Any]],
                   params: dict[str, Any], query: str = QUERY) -> dict[str, Any]:
    vis_state = {"title": title, "type": vis_type, "aggs": aggs, "params": params}
    return _saved("visualization", id_, {
        "title": title,
        "description": description,
        "visState": _compact(vis_state),
        "uiStateJSON": "{}",
        "version": 1,
        "kibanaSavedObjectMeta": _search_source(query),
    }, _data_view_ref())


def _count(label: str = "Articles") -> dict[str, Any]:
    return {"id": "1", "enabled": True, "type": "count", "params": {"customLabel": label}, "schema": "metric"}


def articles_over_time() -> dict[str, Any]:
    aggs = [
        _count(),
        {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment",
         "params": {"field": TIME_FIELD, "interval": "auto", "useNormalizedEsInterval": True,
                    "scaleMetricValues": False, "drop_partials": False, "min_doc_count": 1, "extended_bounds": {},
                    "customLabel": "Published"}},
    ]
    params = {
        "type": "histogram",
        "addTooltip": True,
        "addLegend": False,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "grid": {"categoryLines": False},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                          "style": {}, "scale": {"type": "linear"},
                          "labels": {"show": True, "filter": True, "truncate": 100}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
                       "style": {}, "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                       "title": {"text": "Articles"}}],
        "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked",
                          "data": {"label": "Articles", "id": "1"}, "valueAxis": "ValueAxis-1",
                          "drawLinesBetweenPoints": True, "lineWidth": 2, "showCircles": True}],
        "labels": {"show": False},
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
    }
    return _visualization("newsflow-articles-over-time", "Articles over time",
                          "Articles by publication date (articles without one are not shown).", "histogram", aggs,
                          params)


def _table_params() -> dict[str, Any]:
    return {"perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False, "showTotal": False,
            "totalFunc": "sum", "percentageCol": "", "autoFitRowToContent": False}


def _terms(field: str, label: str, size: int, order_by: str = "1") -> dict[str, Any]:
    return {"id": "2", "enabled": True, "type": "terms", "schema": "bucket",
            "params": {"field": field, "orderBy": order_by, "order": "desc", "size": size, "otherBucket": False,
                       "otherBucketLabel": "Other", "missingBucket": False, "missingBucketLabel": "Missing",
                       "customLabel": label}}


def top_terms(id_: str, title: str, description: str, field: str, label: str, size: int = 20) -> dict[str, Any]:
    return _visualization(id_, title, description, "table", [_count(), _terms(field, label, size)], _table_params())


def most_copied_stories() -> dict[str, Any]:
    aggs = [
        {"id": "1", "enabled": True, "type": "max", "schema": "metric",
         "params": {"field": "duplicate_count", "customLabel": "Copies"}},
        _terms("title.raw", "Story (title)", 20),
    ]
    return _visualization("newsflow-most-copied-stories", "Stories with the most copies",
                          "Duplicates recorded per story: each document is one story, duplicate_count the copies "
                          "dedupe found of it (exact, near or rewrite).", "table", aggs, _table_params(),
                          query=f"{QUERY} and duplicate_count > 0")


def duplicated_search() -> dict[str, Any]:
    return _saved("search", "newsflow-duplicated-stories", {
        "title": "Duplicated stories",
        "description": "Stories that were seen more than once, most copies first.",
        "columns": ["title", "outlet", "source", "duplicate_count", "published_at"],
        "sort": [["duplicate_count", "desc"]],
        "grid": {},
        "hideChart": False,
        "isTextBasedQuery": False,
        "timeRestore": False,
        "kibanaSavedObjectMeta": _search_source(f"{QUERY} and duplicate_count > 0"),
    }, _data_view_ref())


# (object, (x, y, w, h)) on Kibana's 48-column grid.
def dashboard(layout: list[tuple[dict[str, Any], tuple[int, int, int, int]]]) -> dict[str, Any]:
    panels = []
    references = []
    for obj, (x, y, w, h) in layout:
        index = obj["id"].removeprefix("newsflow-")
        panels.append({"type": obj["type"], "gridData": {"x": x, "y": y, "w": w, "h": h, "i": index},
                       "panelIndex": index, "embeddableConfig": {"enhancements": {}},
                       "panelRefName": f"panel_{index}"})
        references.append({"id": obj["id"], "name": f"{index}:panel_{index}", "type": obj["type"]})
    return _saved("dashboard", "newsflow-overview", {
        "title": "Newsflow articles",
        "description": "What the pipeline indexed: articles over time, the people, organizations and places they "
                       "name, outlets, and the stories seen more than once.",
        "panelsJSON": _compact(panels),
        "optionsJSON": _compact({"useMargins": True, "syncColors": False, "syncCursor": True,
                                 "syncTooltips": False, "hidePanelTitles": False}),
        "timeRestore": True,
        "timeFrom": "now-30d",
        "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 60000},
        "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _compact({"query": {"query": "", "language": "kuery"},
                                                                "filter": []})},
    }, references)


def saved_objects() -> list[dict[str, Any]]:
    over_time = articles_over_time()
    people = top_terms("newsflow-top-people", "Top people", "People named in the most articles.", "persons",
                       "Person")
    orgs = top_terms("newsflow-top-organizations", "Top organizations",
                     "Organizations named in the most articles.", "orgs", "Organization")
    places = top_terms("newsflow-top-places", "Top places", "Places named in the most articles.", "places", "Place")
    outlets = top_terms("newsflow-top-outlets", "Top outlets", "Publishers with the most articles.", "outlet",
                        "Outlet")
    copies = most_copied_stories()
    duplicated = duplicated_search()
    # Events are clusters of unique articles (follow-ups, other outlets' reports): the largest first.
    events = top_terms("newsflow-events-by-size", "Events by size",
                       "Events with the most articles (each article counted once; copies are not articles).",
                       "event_id", "Event", size=25)
    # One row per real-world entity however outlets spell it: the knowledge-base name (kb_names).
    linked = top_terms("newsflow-top-kb-entities", "Top entities (knowledge base)",
                       "Linked entities named in the most articles, one row per knowledge-base entity.",
                       "kb_names", "Entity")
    board = dashboard([
        (over_time, (0, 0, 48, 12)),
        (people, (0, 12, 16, 15)),
        (orgs, (16, 12, 16, 15)),
        (places, (32, 12, 16, 15)),
        (outlets, (0, 27, 16, 15)),
        (copies, (16, 27, 32, 15)),
        (events, (0, 42, 24, 15)),
        (linked, (24, 42, 24, 15)),
        (duplicated, (0, 57, 48, 15)),
    ])
    return [data_view(), over_time, people, orgs, places, outlets, copies, events, linked, duplicated, board]


def render() -> str:
    """The ndjson text: one object a line, dependencies before the objects that refer to them."""
    return "".join(json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n" for obj in saved_objects())


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(OUT)
