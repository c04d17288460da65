"""What an operator types against a running stack: search, reindex, replay, dlq — through the real servers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from services.ops.embedded import Stack
from tests.conftest import REPO, SEEDS
from tests.harness import Pipeline, cli_env, make_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def loaded(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    p = make_pipeline(stack, tmp_path_factory.mktemp("ops")).start()
    p.send_paths(SEEDS)
    p.send_bytes("broken.json", b'{"title": "t", "body": ')
    p.wait()
    yield p
    p.stop()


def newsflow(p: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(p.settings)
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out


def test_search_finds_stories_with_highlights_and_facets(loaded: Pipeline) -> None:
    result = json.loads(newsflow(loaded, "search", "Putin Minsk", "--json").stdout)
    assert result["hits"], "Putin is in the seeds"
    assert len({h["event_id"] for h in result["hits"]}) == len(result["hits"]), "one hit per story"
    assert any("Putin" in " ".join(h["highlight"].get("body", [])) for h in result["hits"])
    assert "Vladimir Putin" in [b["key"] for b in result["facets"]["people"]]


def test_search_filters_by_entity_and_date(loaded: Pipeline) -> None:
    docs = loaded.documents()
    putin = next(e["id"] for d in docs for e in d["entities"] if e["name"] == "Vladimir Putin")
    by_entity = json.loads(newsflow(loaded, "search", "*", "--entity", putin, "--json").stdout)
    assert by_entity["total_documents"] == sum(1 for d in docs if putin in d["entity_ids"])
    since = json.loads(newsflow(loaded, "search", "*", "--since", "2022-02-01", "--json").stdout)
    assert [h["source"] for h in since["hits"]] == [str(SEEDS / "003_053fd823a4b97cd3.txt")]


def test_dlq_lists_the_broken_input_with_its_reason(loaded: Pipeline) -> None:
    lines = [json.loads(x) for x in newsflow(loaded, "dlq", "list", "--json").stdout.splitlines()]
    assert [(x["source"], x["stage"], x["reason"]) for x in lines] == [
        ("broken.json", "ingest", "invalid-json")
    ]
    shown = json.loads(newsflow(loaded, "dlq", "show", lines[0]["ref"]).stdout)
    assert shown["origin"]["topic"].endswith(".inbox") and shown["payload"]


def test_replay_and_reindex_keep_one_document_per_story(loaded: Pipeline) -> None:
    before = sorted(d["_id"] for d in loaded.documents())
    replayed = json.loads(newsflow(loaded, "replay", "--from-beginning", "--topic", "enriched").stdout)
    assert replayed["replayed"] >= len(before)
    moved = json.loads(newsflow(loaded, "reindex").stdout)
    assert moved["from"].endswith("-v1") and moved["to"].endswith("-v2")
    assert moved["documents"] == len(before)
    es = loaded.es()
    try:
        aliases = es.indices.get_alias(name=loaded.settings.es.alias)
    finally:
        es.close()
    assert list(aliases) == [moved["to"]]
    assert sorted(d["_id"] for d in loaded.documents()) == before
