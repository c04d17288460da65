"""docker-compose.yml and deploy/Dockerfile, checked without Docker: what `docker compose up` would trip over."""

from __future__ import annotations

import json
import os
import re
import tomllib
from typing import Any
from urllib.parse import urlparse

import pytest

from services.common.settings import Settings

from .support import (
    COMPOSE_SPEC,
    DEPLOY,
    REPO,
    command,
    compose,
    environment,
    newsflow_env_names,
    worker_services,
)

STAGES = {"ingest", "dedupe", "enrich", "index"}
ONE_SHOT = {"init"}  # runs to completion; a healthcheck would never turn healthy


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return compose()


def test_compose_file_is_valid_against_the_compose_specification(spec: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    if not COMPOSE_SPEC.exists():
        pytest.skip(f"compose JSON schema not found at {COMPOSE_SPEC} (shared/data beside the checkout)")
    schema = json.loads(COMPOSE_SPEC.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(spec), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_every_pipeline_stage_runs_as_its_own_worker_service(spec: dict[str, Any]) -> None:
    workers = worker_services(spec)
    assert sorted(workers.values()) == sorted(STAGES)
    for name, stage in workers.items():
        assert name == stage, f"service {name} runs stage {stage}: Prometheus labels targets by service name"


def test_every_newsflow_variable_the_stack_sets_is_a_real_setting(spec: dict[str, Any]) -> None:
    known = newsflow_env_names()
    unknown = {
        f"{name}: {var}"
        for name, svc in spec["services"].items()
        for var in environment(svc)
        if var.upper().startswith("NEWSFLOW_") and var.upper() not in known
    }
    dockerfile_env = re.findall(r"\b(NEWSFLOW_\w+)=", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    unknown |= {f"Dockerfile: {var}" for var in dockerfile_env if var.upper() not in known}
    assert not unknown, f"set but read by no setting (typo, or a setting that was renamed): {sorted(unknown)}"


def test_worker_environment_loads_into_settings_pointing_at_the_stack(
    spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = set(spec["services"])
    for name in worker_services(spec):
        for var in [v for v in os.environ if v.upper().startswith("NEWSFLOW_")]:
            monkeypatch.delenv(var)
        for var, value in environment(spec["services"][name]).items():
            monkeypatch.setenv(var, value)
        settings = Settings()
        assert settings.kafka.bootstrap is not None and settings.es.url is not None, name
        kafka_hosts = {hp.rsplit(":", 1)[0] for hp in settings.kafka.bootstrap.split(",")}
        assert kafka_hosts <= services, f"{name}: Kafka {settings.kafka.bootstrap} is not a compose service"
        assert urlparse(settings.es.url).hostname in services, (
            f"{name}: {settings.es.url} is not a compose service"
        )
        assert settings.es.compat == "elasticsearch", (
            f"{name}: the osmem shim is for the embedded server only"
        )
        assert settings.web_host == "0.0.0.0", f"{name}: Prometheus and healthchecks reach it from outside"
        assert settings.web_port > 0, f"{name}: a fixed container port, so Prometheus knows where to scrape"


def test_every_long_running_service_has_a_healthcheck(spec: dict[str, Any]) -> None:
    missing = [n for n, svc in spec["services"].items() if n not in ONE_SHOT and not svc.get("healthcheck")]
    assert not missing


def test_workers_are_healthy_only_when_livez_on_their_web_port_answers(spec: dict[str, Any]) -> None:
    for name in worker_services(spec):
        svc = spec["services"][name]
        port = environment(svc)["NEWSFLOW_WEB_PORT"]
        check = " ".join(svc["healthcheck"]["test"])
        assert f":{port}/livez" in check, f"{name} healthcheck {check!r} does not probe /livez on port {port}"


def test_services_start_only_after_what_they_need_is_healthy(spec: dict[str, Any]) -> None:
    for name, svc in spec["services"].items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: use the long depends_on syntax with a condition"
        for dep, cond in deps.items():
            want = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert cond.get("condition") == want, (
                f"{name} -> {dep}: condition {cond.get('condition')}, want {want}"
            )
    for name in worker_services(spec):
        deps = spec["services"][name]["depends_on"]
        assert {"kafka", "elasticsearch", "init"} <= set(deps), (
            f"{name} may start before topics and alias exist"
        )


def test_workers_publish_no_host_ports_so_they_can_be_scaled(spec: dict[str, Any]) -> None:
    for name in worker_services(spec):
        svc = spec["services"][name]
        assert not svc.get("ports"), f"{name}: a fixed host port breaks `docker compose up --scale {name}=2`"
        assert "container_name" not in svc, f"{name}: a fixed container name breaks scaling"


def test_published_ports_are_reachable_from_this_machine_only(spec: dict[str, Any]) -> None:
    # Elasticsearch and Kibana run without security in this stack.
    for name, svc in spec["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_stateful_services_keep_their_data_in_named_volumes(spec: dict[str, Any]) -> None:
    declared = set(spec.get("volumes") or {})
    for name in ("kafka", "elasticsearch", "prometheus", "grafana"):
        named = [
            v.split(":", 1)[0]
            for v in spec["services"][name].get("volumes", [])
            if not v.startswith((".", "/"))
        ]
        assert named, f"{name} loses its data when the container is recreated"
        assert set(named) <= declared, f"{name} uses undeclared volumes {set(named) - declared}"


def test_bind_mounted_files_exist_in_the_repository(spec: dict[str, Any]) -> None:
    for name, svc in spec["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"


def test_kafka_runs_in_kraft_mode_without_zookeeper(spec: dict[str, Any]) -> None:
    assert not any("zookeeper" in n for n in spec["services"])
    kafka = spec["services"]["kafka"]
    env = environment(kafka)
    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "zookeeper" not in json.dumps(env).lower()


def test_workers_are_configured_by_environment_only(spec: dict[str, Any]) -> None:
    for name, stage in worker_services(spec).items():
        svc = spec["services"][name]
        assert command(svc) == ["newsflow", "worker", stage]
        assert not svc.get("volumes"), f"{name} reads configuration from a mounted file"
        assert "env_file" not in svc, (
            f"{name}: a .env file beside compose is fine, a per-service env_file hides config"
        )


def test_init_runs_newsflow_init_and_imports_the_kibana_saved_objects(spec: dict[str, Any]) -> None:
    init = spec["services"]["init"]
    script = (DEPLOY / "compose-init.sh").read_text(encoding="utf-8")
    mounted = {v.split(":")[0]: v.split(":")[1] for v in init["volumes"]}
    assert mounted.get("./deploy/compose-init.sh") == command(init)[-1]
    assert mounted.get("./deploy/kibana") == environment(init)["SAVED_OBJECTS_DIR"]
    assert "newsflow init" in script
    assert "/api/saved_objects/_import" in script and "kbn-xsrf" in script
    assert {"kafka", "elasticsearch", "kibana"} <= set(init["depends_on"])


def test_worker_image_is_python_3_11_slim_and_copies_everything_the_wheel_build_reads() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    copied = {
        src.rstrip("/")
        for line in re.findall(r"^COPY\s+(.+)$", dockerfile, re.MULTILINE)
        for src in line.split()[:-1]
        if not src.startswith("--")
    }
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {
        "pyproject.toml",
        project["project"]["readme"],
        *wheel.get("packages", []),
        *wheel.get("force-include", {}),
    }
    assert needed <= copied, f"`pip install .` in the image fails without {sorted(needed - copied)}"
    missing = sorted(src for src in copied if not (REPO / src).exists())
    assert not missing, f"the image build fails: {missing} do not exist in the repository"
