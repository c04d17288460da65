"""The README's metrics table is true of services/common/metrics.py: every series a worker serves is listed with
its labels, and nothing is listed that no worker serves."""

from __future__ import annotations

import re
from pathlib import Path

from services.common import metrics

README = Path(__file__).resolve().parents[3] / "README.md"


def served() -> dict[str, tuple[str, ...]]:
    """Exposed name of every Newsflow family -> its label names (Info: the series' fixed labels)."""
    out: dict[str, tuple[str, ...]] = {}
    for collector in list(metrics.REGISTRY._collector_to_names):
        for family in collector.collect():
            if not family.name.startswith("newsflow_"):
                continue
            suffix = {"counter": "_total", "info": "_info"}.get(family.type, "")
            labels = getattr(collector, "_labelnames", ())
            out[family.name + suffix] = tuple(labels)
    return out


def documented() -> dict[str, str]:
    text = README.read_text()
    section = text.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]*) \|", section, flags=re.M)
    return {name: labels.strip() for name, labels in rows}


def test_every_metric_a_worker_serves_is_in_the_readme_with_its_labels() -> None:
    doc = documented()
    for name, labels in served().items():
        assert name in doc, f"{name} is served but not in the README's metrics table"
        for label in labels:
            assert label in doc[name], f"{name}: label {label} not in the README ({doc[name]!r})"


def test_the_readme_lists_no_metric_that_is_not_served() -> None:
    extra = set(documented()) - set(served()) - {"process_cpu_seconds_total", "process_resident_memory_bytes"}
    assert extra == set()


def test_process_cpu_and_memory_are_served_by_every_worker() -> None:
    text = metrics.render().decode()
    assert "process_cpu_seconds_total" in text and "process_resident_memory_bytes" in text
