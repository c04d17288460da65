"""Snapshots of the embedded search server, through real osmem servers: written, checked, seeded back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from services.common.es import sync_client
from services.common.settings import ElasticSettings
from services.index.template import ensure_write_alias, install_template, write_index
from services.ops import snapshot
from services.ops.embedded import SearchServer

pytestmark = pytest.mark.integration


def client(server: SearchServer) -> Elasticsearch:
    return sync_client(ElasticSettings(url=server.url, compat="osmem"))


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[SearchServer, Elasticsearch]]:
    """A fresh osmem with the article template, a write alias, 25 articles and a dedupe index."""
    server = SearchServer().start(tmp_path / "logs")
    es = client(server)
    cfg = ElasticSettings(url=server.url, compat="osmem")
    install_template(es, cfg)
    ensure_write_alias(es, cfg)
    for i in range(25):
        es.index(
            index=cfg.alias, id=f"a{i:02d}", document={"id": f"a{i:02d}", "title": f"t {i}", "pending": False}
        )
    es.indices.create(index=cfg.dedupe_index, mappings={"properties": {"type": {"type": "keyword"}}})
    es.index(index=cfg.dedupe_index, id="claim:x", document={"type": "claim"})
    yield server, es
    es.close()
    server.stop()


def test_a_snapshot_seeds_a_new_server_with_the_same_documents_template_and_write_alias(
    loaded: tuple[SearchServer, Elasticsearch], tmp_path: Path
) -> None:
    _, es = loaded
    snap = snapshot.take(es, tmp_path / "nf", page=10, part_docs=10)  # pages of search_after, parts of 10
    assert snap.documents == {"newsflow-articles-v1": 25, "newsflow-dedupe": 1}
    assert len(snap.parts) == 1 + 3 + 1 + 1, "definitions, 3 parts of articles, the dedupe entry, aliases"
    checked = snapshot.load(tmp_path / "nf")
    assert checked is not None and checked.documents == snap.documents

    again = SearchServer(seeds=checked.parts).start(tmp_path / "logs")
    es2 = client(again)
    try:
        cfg = ElasticSettings(url=again.url, compat="osmem")
        hits = es2.search(index=cfg.alias, size=100, sort=[{"id": "asc"}])["hits"]["hits"]
        assert [h["_id"] for h in hits] == [f"a{i:02d}" for i in range(25)]
        assert es2.count(index=cfg.dedupe_index)["count"] == 1
        assert write_index(es2, cfg) == "newsflow-articles-v1", "the write alias came back"
        templates = es2.indices.get_index_template(name=cfg.index_prefix)["index_templates"]
        assert templates[0]["index_template"]["index_patterns"] == ["newsflow-articles-v*"]
        mapping = es2.indices.get(index="newsflow-articles-v1")["newsflow-articles-v1"]["mappings"]
        assert mapping["dynamic"] == "strict" and mapping["properties"]["body"]["analyzer"] == "english"
    finally:
        es2.close()
        again.stop()


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_a_damaged_snapshot_file_is_named_instead_of_restoring_part_of_it(
    loaded: tuple[SearchServer, Elasticsearch], tmp_path: Path, damage: str
) -> None:
    _, es = loaded
    snap = snapshot.take(es, tmp_path / "nf")
    victim = next(snap.path.glob("*/newsflow-articles-v1.ndjson"))
    blob = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(blob[: len(blob) // 2])
    elif damage == "flip":
        victim.write_bytes(blob.replace(b'"t 1"', b'"t 7"', 1))
    else:
        victim.unlink()
    with pytest.raises(snapshot.SnapshotError, match=str(victim)):
        snapshot.load(tmp_path / "nf")
    aside = snapshot.discard(tmp_path / "nf")
    assert aside is not None and (aside / "manifest.json").exists(), "moved aside, not deleted"
    assert snapshot.load(tmp_path / "nf") is None


def test_a_new_snapshot_replaces_the_old_one_whole_and_a_crash_between_the_renames_keeps_one(
    loaded: tuple[SearchServer, Elasticsearch], tmp_path: Path
) -> None:
    _, es = loaded
    data = tmp_path / "nf"
    snapshot.take(es, data)
    es.index(index="newsflow-articles", id="new", document={"id": "new", "pending": False})
    second = snapshot.take(es, data)
    assert second.documents["newsflow-articles-v1"] == 26
    assert sorted(p.name for p in data.iterdir()) == ["snapshot"], "no temp or old directory left"
    (data / "snapshot").rename(data / "snapshot.old")  # as if the process died between the two renames
    recovered = snapshot.load(data)
    assert recovered is not None and recovered.documents["newsflow-articles-v1"] == 26
