"""deploy/grafana: the provisioned datasource and the pipeline-overview dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from .support import (
    GRAFANA_DIR,
    PROMETHEUS_SYNTHETIC,
    compose,
    dashboards,
    environment,
    exposed_series_names,
    grafana_to_promql,
    load_yaml,
    panels,
    promql_metric_names,
    recording_rule_names,
    run_promtool,
)


def queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of every dashboard."""
    out = []
    for _, dashboard in dashboards():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                out.append((panel["title"], target["expr"]))
    return out


@pytest.fixture(scope="module")
def datasource() -> dict[str, Any]:
    [ds] = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    return ds


def test_the_pipeline_overview_dashboard_shows_what_an_operator_looks_for() -> None:
    titles = {panel["title"] for _, d in dashboards() for panel in panels(d)}
    assert {
        "Throughput per stage",
        "Consumer lag",
        "Freshness",
        "Duplicates by kind",
        "Dead letters by reason",
        "Bulk request latency",
        "Bulk items by result",
        "Worker up",
    } <= titles


def test_every_metric_a_panel_queries_is_one_the_workers_emit() -> None:
    known = exposed_series_names() | PROMETHEUS_SYNTHETIC | recording_rule_names()
    unknown = {(title, name) for title, expr in queries() for name in promql_metric_names(expr) - known}
    assert not unknown, f"panels query metrics nobody emits: {sorted(unknown)}"


def test_every_panel_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses recording rules: one rule per query is a PromQL syntax check.
    rules = {
        "groups": [
            {
                "name": "grafana",
                "rules": [
                    {"record": f"grafana:query:{i}", "expr": grafana_to_promql(expr)}
                    for i, (_, expr) in enumerate(queries())
                ],
            }
        ]
    }
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = run_promtool("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_panel_uses_the_provisioned_prometheus_datasource(datasource: dict[str, Any]) -> None:
    for _, dashboard in dashboards():
        for panel in panels(dashboard):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}, panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == datasource["uid"], panel["title"]


def test_the_datasource_points_at_the_compose_prometheus(datasource: dict[str, Any]) -> None:
    url = urlparse(datasource["url"])
    prometheus = compose()["services"].get(url.hostname or "")
    assert prometheus is not None, f"{url.hostname} is not a compose service"
    assert prometheus["image"].startswith("prom/prometheus")
    # Prometheus listens on 9090 unless its command says otherwise.
    assert url.port == 9090 and not any("--web.listen-address" in arg for arg in prometheus["command"])


def test_grafana_loads_the_dashboards_from_where_compose_mounts_them() -> None:
    grafana = compose()["services"]["grafana"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"] if v.startswith(".")}
    [provider] = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "newsflow.yml")["providers"]
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (GRAFANA_DIR / "dashboards" / Path(home).name).exists()


def test_dashboards_have_stable_uids_and_unique_panel_ids() -> None:
    uids = []
    for path, dashboard in dashboards():
        uids.append(dashboard["uid"])
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(ids) == len(set(ids)), path.name
    assert len(uids) == len(set(uids)) and all(uids)
