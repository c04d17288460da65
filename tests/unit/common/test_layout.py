"""The house rules a newcomer relies on: the worker core imports no worker and no ops module, and a worker's
agents.py is a declaration (the runner owns the stream loop)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[3] / "services"
WORKERS = ("ingest", "dedupe", "enrich", "index")


def imported_modules(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("path", sorted((SERVICES / "common").rglob("*.py")), ids=lambda p: p.name)
def test_the_worker_core_imports_no_worker_and_no_ops_module(path: Path) -> None:
    bad = {
        m for m in imported_modules(path) if m.split(".")[:2] in [["services", w] for w in (*WORKERS, "ops")]
    }
    assert bad == set(), f"{path.relative_to(SERVICES)} imports {sorted(bad)}"


@pytest.mark.parametrize("worker", WORKERS)
def test_no_agents_module_has_a_stream_loop_of_its_own(worker: str) -> None:
    tree = ast.parse((SERVICES / worker / "agents.py").read_text())
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.AsyncFor)]
    calls = {
        n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    assert loops == [] and not calls & {"take_events", "events", "agent"}, "the runner owns the loop"
