"""Readers for the deployment files (compose, Prometheus, Grafana, Kibana, index template) used by the ops tests."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from services.common import metrics
from services.common.settings import Settings

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = REPO / "docker-compose.yml"
SECURE_COMPOSE_FILE = REPO / "docker-compose.secure.yml"
ENV_EXAMPLE = REPO / ".env.example"
COMPOSE_SPEC = REPO.parent / "shared" / "data" / "compose-spec" / "compose-spec.json"
PROMETHEUS_DIR = DEPLOY / "prometheus"
GRAFANA_DIR = DEPLOY / "grafana"
KIBANA_DIR = DEPLOY / "kibana"
INDEX_TEMPLATE = REPO / "schemas" / "index-template.json"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- docker compose -------------------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")

REQUIRED = "required-value-from-env"
"""What ``${VAR:?message}`` stands for in these tests: the operator must set it (in .env)."""


def interpolate(value: str) -> str:
    """Resolve compose ``${VAR:-default}`` / ``${VAR-default}`` / ``${VAR}`` the way a shell without those
    variables would: defaults, or empty; ``${VAR:?msg}`` (compose refuses to start without it) as ``REQUIRED``."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if (m.group("op") or "").endswith("?"):
            return REQUIRED
        return m.group("default") or ""

    return _INTERPOLATION.sub(sub, value)


def required_variables(text: str) -> set[str]:
    """The variables a compose file refuses to start without (``${VAR:?...}``)."""
    return {m.group("name") for m in _INTERPOLATION.finditer(text) if (m.group("op") or "").endswith("?")}


def compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    data = load_yaml(path)
    assert isinstance(data, dict)
    return data


def merge(base: Any, overlay: Any) -> Any:
    """``docker compose -f base -f overlay`` for what our overlay uses: mappings merge key by key (environment,
    depends_on, healthcheck, services), anything else (command, entrypoint, healthcheck.test) is replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    return overlay


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict with compose defaults applied (list or mapping syntax)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): interpolate(str(v)) for k, v in env.items() if v is not None}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def worker_services(spec: dict[str, Any]) -> dict[str, str]:
    """compose service name -> pipeline stage, for the services that run ``newsflow worker <stage>``."""
    out = {}
    for name, svc in spec["services"].items():
        cmd = command(svc)
        if cmd[:2] == ["newsflow", "worker"]:
            out[name] = cmd[2]
    return out


def newsflow_env_names() -> set[str]:
    """Every environment variable the Settings object reads: NEWSFLOW_<FIELD>, NEWSFLOW_<GROUP>__<FIELD>."""
    names: set[str] = set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for field_name, field in model.model_fields.items():
            env = f"{prefix}{field_name.upper()}"
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, env + "__")
            else:
                names.add(env)

    walk(Settings, "NEWSFLOW_")
    return names


# --- PromQL ---------------------------------------------------------------------------------------------------

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
# An identifier that is not part of a longer one, not a function call, not a number's unit ("5m", "1e3").
_IDENT = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "atan2",
}


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (label names, functions and keywords left out)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    return {m for m in _IDENT.findall(text) if m.lower() not in _KEYWORDS}


def exposed_series_names() -> set[str]:
    """Names of the series a worker's /metrics shows: services.common.metrics' declared names without the bare
    family names of counters, histograms and infos (``newsflow_messages`` is never a series,
    ``newsflow_messages_total`` is)."""
    declared = metrics.declared_names()
    bare = set()
    for collector in list(metrics.REGISTRY._collector_to_names):  # the registry has no public listing
        if getattr(collector, "_type", "") in ("counter", "histogram", "info", "summary"):
            bare.add(getattr(collector, "_name", ""))
    return declared - bare


# Series Prometheus makes itself for every target; a worker does not have to emit them.
PROMETHEUS_SYNTHETIC = {
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_series_added",
    "scrape_samples_post_metric_relabeling",
}


def recording_rule_names() -> set[str]:
    rules = load_yaml(PROMETHEUS_DIR / "alerts.yml")
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def alert_rules() -> list[dict[str, Any]]:
    rules = load_yaml(PROMETHEUS_DIR / "alerts.yml")
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip(
            "promtool not found: run scripts/install_prometheus.sh (installs Debian's prometheus package)"
        )
    return path


def run_promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


# --- Grafana --------------------------------------------------------------------------------------------------


def dashboards() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted((GRAFANA_DIR / "dashboards").glob("*.json")):
        yield path, json.loads(path.read_text(encoding="utf-8"))


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # panels inside collapsed rows


def grafana_to_promql(expr: str) -> str:
    """Grafana's query macros replaced by literal durations, so promtool can parse the query."""
    for macro, value in (("$__rate_interval", "1m"), ("$__interval", "15s"), ("$__range", "1h")):
        expr = expr.replace(macro, value)
    return expr


# --- Kibana and the index template ----------------------------------------------------------------------------


def saved_objects() -> list[dict[str, Any]]:
    out = []
    for path in sorted(KIBANA_DIR.glob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def template_fields() -> dict[str, str]:
    """field path -> mapping type of every field of the index template (objects, nested and multi-fields too)."""
    if not INDEX_TEMPLATE.exists():
        pytest.skip(f"{INDEX_TEMPLATE.relative_to(REPO)} does not exist yet")
    fields: dict[str, str] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            path = prefix + name
            fields[path] = spec.get("type", "object")
            walk(spec.get("properties", {}), path + ".")
            for sub, sub_spec in spec.get("fields", {}).items():
                fields[f"{path}.{sub}"] = sub_spec.get("type", "object")

    def find_mappings(node: Any) -> None:
        if isinstance(node, dict):
            mappings = node.get("mappings")
            if isinstance(mappings, dict) and isinstance(mappings.get("properties"), dict):
                walk(mappings["properties"], "")
            for value in node.values():
                find_mappings(value)
        elif isinstance(node, list):
            for value in node:
                find_mappings(value)

    find_mappings(json.loads(INDEX_TEMPLATE.read_text(encoding="utf-8")))
    return fields


_KQL_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*(?::|<=|>=|<|>)")


def kql_fields(query: str) -> set[str]:
    return set(_KQL_FIELD.findall(_STRINGS.sub('""', query)))


def kibana_field_uses(obj: dict[str, Any]) -> dict[str, str]:
    """field -> how a saved object uses it: 'aggregate' (terms, histograms, sort, time field) or 'read'."""
    uses: dict[str, str] = {}
    attrs = obj["attributes"]

    def add(field: str, how: str) -> None:
        if uses.get(field) != "aggregate":
            uses[field] = how

    if obj["type"] == "index-pattern" and attrs.get("timeFieldName"):
        add(attrs["timeFieldName"], "aggregate")
    if "visState" in attrs:
        for agg in json.loads(attrs["visState"]).get("aggs", []):
            field = agg.get("params", {}).get("field")
            if field:
                add(field, "aggregate")
    for column in attrs.get("columns", []):
        add(column, "read")
    for sort in attrs.get("sort", []):
        add(sort[0], "aggregate")
    source = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
    if source:
        query = json.loads(source).get("query", {})
        if query.get("language") == "kuery":
            for field in kql_fields(query.get("query", "")):
                add(field, "read")
    return uses


AGGREGATABLE = {
    "keyword",
    "date",
    "date_nanos",
    "boolean",
    "integer",
    "long",
    "short",
    "byte",
    "float",
    "double",
    "half_float",
    "scaled_float",
    "unsigned_long",
    "ip",
}
