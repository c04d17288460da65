"""Index template, versioned indices and the write alias. Used by ``newsflow init`` and ``newsflow reindex``."""

from __future__ import annotations

import json
import re
from typing import Any

from elasticsearch import Elasticsearch, helpers

from services.common.es import sync_client
from services.common.paths import SCHEMAS_DIR
from services.common.settings import ElasticSettings


def load_template() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS_DIR / "index-template.json").read_text())
    return data


def mapping_properties() -> dict[str, Any]:
    """Top-level mapped fields of the article index (for tests of Kibana/search field use)."""
    props: dict[str, Any] = load_template()["component_templates"]["newsflow-mappings"]["template"][
        "mappings"
    ]["properties"]
    return props


def install_template(es: Elasticsearch, cfg: ElasticSettings) -> None:
    """Install the component and index templates for ``<index_prefix>-v*`` (names follow the configured prefix,
    so several deployments can share one cluster)."""
    tpl = load_template()
    # "newsflow-mappings" -> "<index_prefix>-mappings"
    rename = {name: f"{cfg.index_prefix}-{name.split('-', 1)[1]}" for name in tpl["component_templates"]}
    for name, body in tpl["component_templates"].items():
        es.cluster.put_component_template(name=rename[name], template=body["template"])
    body = dict(tpl["index_template"]["body"])
    body["index_patterns"] = [f"{cfg.index_prefix}-v*"]
    body["composed_of"] = [rename[n] for n in body["composed_of"]]
    es.indices.put_index_template(name=cfg.index_prefix, **body)


def prepare_index(cfg: ElasticSettings) -> None:
    """Template, versioned index and write alias, before the first write (else the first bulk would create an
    index with dynamic mappings). Idempotent; used by the index worker at start and by ``newsflow init``."""
    es = sync_client(cfg)
    try:
        install_template(es, cfg)
        ensure_write_alias(es, cfg)
    finally:
        es.close()


def versioned_indices(es: Elasticsearch, cfg: ElasticSettings) -> list[tuple[int, str]]:
    pat = re.compile(re.escape(cfg.index_prefix) + r"-v(\d+)$")
    found = []
    for name in es.indices.get(index=f"{cfg.index_prefix}-v*", allow_no_indices=True, expand_wildcards="all"):
        m = pat.match(name)
        if m:
            found.append((int(m.group(1)), name))
    return sorted(found)


def ensure_write_alias(es: Elasticsearch, cfg: ElasticSettings) -> str:
    """Create ``<prefix>-v1`` with the alias if no versioned index exists; return the current write index."""
    current = write_index(es, cfg)
    if current:
        return current
    name = f"{cfg.index_prefix}-v1"
    if not es.indices.exists(index=name):
        es.indices.create(index=name, aliases={cfg.alias: {"is_write_index": True}})
    else:
        es.indices.put_alias(index=name, name=cfg.alias, is_write_index=True)
    return name


def write_index(es: Elasticsearch, cfg: ElasticSettings) -> str | None:
    if not es.indices.exists_alias(name=cfg.alias):
        return None
    aliases = es.indices.get_alias(name=cfg.alias)
    for index, body in aliases.items():
        if body.get("aliases", {}).get(cfg.alias, {}).get("is_write_index"):
            return str(index)
    return str(next(iter(aliases))) if aliases else None


def _copy(es: Elasticsearch, src: str, dest: str, op_type: str) -> int:
    actions = (
        {"_op_type": op_type, "_index": dest, "_id": hit["_id"], "_source": hit["_source"]}
        for hit in helpers.scan(es, index=src, query={"query": {"match_all": {}}}, size=500)
    )
    ok, _errors = helpers.bulk(es, actions, chunk_size=500, raise_on_error=False, stats_only=True)
    return int(ok)


def reindex(es: Elasticsearch, cfg: ElasticSettings) -> tuple[str, str, int]:
    """Copy the current write index into the next version (from the template) and swap the alias atomically.

    Returns (old index, new index, documents in the new index). Client-side copy (scroll + bulk) so it works on
    every server. Documents written to the old index during the copy are copied again after the swap with
    ``op_type=create``, which never overwrites what the workers already wrote to the new index.
    """
    install_template(es, cfg)
    old = ensure_write_alias(es, cfg)
    versions = versioned_indices(es, cfg)
    nxt = f"{cfg.index_prefix}-v{(versions[-1][0] if versions else 1) + 1}"
    es.indices.create(index=nxt)
    _copy(es, old, nxt, "index")
    es.indices.update_aliases(
        actions=[
            {"add": {"index": nxt, "alias": cfg.alias, "is_write_index": True}},
            {"remove": {"index": old, "alias": cfg.alias}},
        ]
    )
    _copy(es, old, nxt, "create")
    es.indices.refresh(index=nxt)
    count = int(es.count(index=nxt)["count"])
    return old, nxt, count
