"""deploy/prometheus: what Prometheus scrapes and what it alerts on, checked with promtool where it is installed."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from .support import (
    PROMETHEUS_DIR,
    PROMETHEUS_SYNTHETIC,
    REPO,
    alert_rules,
    compose,
    environment,
    exposed_series_names,
    load_yaml,
    promql_metric_names,
    recording_rule_names,
    run_promtool,
    worker_services,
)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load_yaml(PROMETHEUS_DIR / "prometheus.yml")


def scraped_addresses(config: dict[str, Any]) -> set[tuple[str, int]]:
    """(host or DNS name, port) of every target the scrape configs name, for /metrics jobs."""
    out: set[tuple[str, int]] = set()
    for job in config["scrape_configs"]:
        if job.get("metrics_path", "/metrics") != "/metrics":
            continue
        for sd in job.get("dns_sd_configs", []):
            out |= {(name, int(sd["port"])) for name in sd["names"]}
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                out.add((host, int(port)))
    return out


def test_prometheus_scrapes_every_worker_service_on_its_metrics_port(config: dict[str, Any]) -> None:
    spec = compose()
    scraped = scraped_addresses(config)
    for name in worker_services(spec):
        port = int(environment(spec["services"][name])["NEWSFLOW_WEB_PORT"])
        assert (name, port) in scraped, f"no scrape job reaches {name}:{port}/metrics"


def test_scaled_workers_are_discovered_through_docker_dns(config: dict[str, Any]) -> None:
    # A static target would resolve to one container; DNS service discovery lists every replica.
    workers = set(worker_services(compose()))
    discovered = {
        name
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
        if sd.get("type", "SRV") == "A"
    }
    assert workers <= discovered


def test_worker_targets_are_labelled_by_service_without_clobbering_the_stage_label(
    config: dict[str, Any],
) -> None:
    workers = set(worker_services(compose()))
    for job in config["scrape_configs"]:
        names = {n for sd in job.get("dns_sd_configs", []) for n in sd["names"]}
        if not names & workers:
            continue
        assert job["job_name"] == "newsflow", 'alerts.yml and the dashboard select job="newsflow"'
        targets = {r.get("target_label") for r in job.get("relabel_configs", [])}
        assert "service" in targets
        assert "stage" not in targets, "the metrics carry `stage`; a target label would rename theirs"


def test_promtool_accepts_the_prometheus_config_and_its_rule_files() -> None:
    result = run_promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_alert_rules() -> None:
    result = run_promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path: Any) -> None:
    # The check above means something only if promtool fails on a rule that cannot work.
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: sum(rate(x[5m]) >\n")
    result = run_promtool("check", "rules", str(broken), cwd=tmp_path)
    assert result.returncode != 0


def test_alert_unit_tests_pass() -> None:
    result = run_promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_where_it_fires_and_one_where_it_stays_silent() -> None:
    cases = load_yaml(PROMETHEUS_DIR / "alerts_test.yml")
    assert cases["rule_files"] == ["alerts.yml"]
    fires: set[str] = set()
    silent: set[str] = set()
    for case in cases["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = {rule["alert"] for rule in alert_rules()}
    assert alerts - fires == set(), "alerts never shown to fire"
    assert alerts - silent == set(), "alerts never shown to stay silent"


def test_the_required_alerts_exist() -> None:
    alerts = {rule["alert"] for rule in alert_rules()}
    assert {
        "NewsflowWorkerDown",
        "NewsflowConsumerLagGrowing",
        "NewsflowDeadLetterRateHigh",
        "NewsflowFreshnessSlow",
        "NewsflowBulkItemsFailing",
    } <= alerts


def test_every_alert_says_what_it_means_and_what_to_do() -> None:
    for rule in alert_rules():
        name = rule["alert"]
        annotations = rule.get("annotations", {})
        assert annotations.get("summary"), f"{name} has no summary"
        assert "What to do:" in annotations.get("description", ""), f"{name} does not say what to do"
        assert rule.get("labels", {}).get("severity") in {"warning", "critical"}, f"{name} has no severity"
        assert rule.get("for"), f"{name} would fire on a single evaluation"


def test_every_metric_an_alert_queries_is_one_the_workers_emit() -> None:
    known = exposed_series_names() | PROMETHEUS_SYNTHETIC
    rules = load_yaml(PROMETHEUS_DIR / "alerts.yml")
    recorded: set[str] = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            unknown = promql_metric_names(rule["expr"]) - known - recorded
            assert not unknown, f"{rule.get('alert') or rule.get('record')} queries undeclared {unknown}"
            if "record" in rule:
                recorded.add(rule["record"])
    assert recorded == recording_rule_names()


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (stage, le) (rate(newsflow_processing_seconds_bucket{stage="enrich"}[5m]))',
            {"newsflow_processing_seconds_bucket"},
        ),
        (
            'rate(newsflw_messages_total[5m]) / on (stage) group_left up{job="x"} offset 5m',
            {"newsflw_messages_total", "up"},
        ),
        (
            'label_replace(absent(up{service="a"} == 1), "service", "a", "", "") or x:y:z > 1e3',
            {"up", "x:y:z"},
        ),
        ("histogram_quantile(0.95, sum without (instance) (rate(a_bucket[$__rate_interval])))", {"a_bucket"}),
    ],
)
def test_promql_name_extraction_finds_metrics_and_ignores_functions_labels_and_keywords(
    expr: str, names: set[str]
) -> None:
    assert promql_metric_names(expr) == names


def test_install_script_is_silent_when_prometheus_is_already_installed() -> None:
    if not (shutil.which("promtool") and shutil.which("prometheus")):
        pytest.skip("prometheus is not installed: the script would install it (run it yourself)")
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "install_prometheus.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout + result.stderr == ""
