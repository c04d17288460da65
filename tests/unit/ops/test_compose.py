"""docker-compose.yml, docker-compose.secure.yml, .env.example and deploy/Dockerfile, checked without Docker: what
`docker compose up` would trip over, and what an operator relies on (the pipeline never waits for Kibana)."""

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
    COMPOSE_FILE,
    COMPOSE_SPEC,
    DEPLOY,
    ENV_EXAMPLE,
    REPO,
    REQUIRED,
    SECURE_COMPOSE_FILE,
    command,
    compose,
    environment,
    merge,
    newsflow_env_names,
    required_variables,
    worker_services,
)

STAGES = {"ingest", "dedupe", "enrich", "index"}
ONE_SHOT = {"init", "dashboards", "es-users"}  # run to completion; a healthcheck would never turn healthy
OPTIONAL = {"kibana", "dashboards", "prometheus", "grafana"}  # the pipeline runs without them


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return compose()


@pytest.fixture(scope="module")
def secure() -> dict[str, Any]:
    return merge(compose(), compose(SECURE_COMPOSE_FILE))


@pytest.mark.parametrize("path", [COMPOSE_FILE, SECURE_COMPOSE_FILE], ids=lambda p: p.name)
def test_compose_files_are_valid_against_the_compose_specification(path: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    if not COMPOSE_SPEC.exists():
        pytest.skip(f"compose JSON schema not found at {COMPOSE_SPEC} (shared/data beside the checkout)")
    schema = json.loads(COMPOSE_SPEC.read_text(encoding="utf-8"))
    for what, data in ((path.name, compose(path)), ("merged", merge(compose(), compose(path)))):
        errors = sorted(
            jsonschema.Draft7Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path)
        )
        assert not errors, (
            what + ":\n" + "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
        )


def dependencies(spec: dict[str, Any], name: str) -> set[str]:
    """Every service ``name`` waits for, directly or through the services it waits for."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for dep in spec["services"][todo.pop()].get("depends_on") or {}:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


@pytest.mark.parametrize("variant", ["plain", "secure"])
def test_no_worker_waits_for_kibana_grafana_or_prometheus_directly_or_through_another_service(
    variant: str, spec: dict[str, Any], secure: dict[str, Any]
) -> None:
    s = spec if variant == "plain" else secure
    for name in worker_services(s):
        reached = dependencies(s, name) & OPTIONAL
        assert not reached, f"{name} cannot start while {sorted(reached)} is down"
        assert {"kafka", "elasticsearch", "init"} <= dependencies(s, name)


def test_the_required_init_needs_only_kafka_and_elasticsearch(spec: dict[str, Any]) -> None:
    init = spec["services"]["init"]
    assert set(init["depends_on"]) == {"kafka", "elasticsearch"}
    script = " ".join(command(init))
    assert "newsflow init" in script, "topics, index template and write alias"
    assert "newsflow topics" in script, "retention of topics made by an older version"
    assert init.get("restart") == "no"


def test_kibana_dashboards_are_imported_by_a_separate_retried_service(spec: dict[str, Any]) -> None:
    dashboards = spec["services"]["dashboards"]
    mounted = {v.split(":")[0]: v.split(":")[1] for v in dashboards["volumes"]}
    assert mounted.get("./deploy/kibana-import.sh") == command(dashboards)[-1]
    assert mounted.get("./deploy/kibana") == environment(dashboards)["SAVED_OBJECTS_DIR"]
    assert "kibana" in dashboards["depends_on"]
    assert str(dashboards["restart"]).startswith("on-failure"), "Docker runs a failed import again"


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


def test_services_start_only_after_what_they_need_is_healthy(
    spec: dict[str, Any], secure: dict[str, Any]
) -> None:
    for s in (spec, secure):
        for name, svc in s["services"].items():
            deps = svc.get("depends_on") or {}
            assert isinstance(deps, dict), f"{name}: use the long depends_on syntax with a condition"
            for dep, cond in deps.items():
                assert dep in s["services"], f"{name} depends on unknown {dep}"
                want = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
                assert cond.get("condition") == want, (
                    f"{name} -> {dep}: condition {cond.get('condition')}, want {want}"
                )


def test_only_the_push_api_is_published_by_a_worker_and_only_on_loopback(spec: dict[str, Any]) -> None:
    for name in worker_services(spec):
        svc = spec["services"][name]
        assert "container_name" not in svc, f"{name}: a fixed container name breaks scaling"
        if name != "ingest":
            assert not svc.get("ports"), (
                f"{name}: a fixed host port breaks `docker compose up --scale {name}=2`"
            )
    ingest = spec["services"]["ingest"]
    env = environment(ingest)
    (port,) = ingest["ports"]
    host, _, container = str(port).rpartition(":")
    assert host.startswith("127.0.0.1:")
    assert container == env["NEWSFLOW_INGEST__PUSH_PORT"]
    assert env["NEWSFLOW_INGEST__PUSH_HOST"] == "0.0.0.0", "reachable through Docker's port forwarding"


def test_the_push_token_comes_from_the_env_file_and_compose_refuses_to_start_without_it(
    spec: dict[str, Any],
) -> None:
    ingest = environment(spec["services"]["ingest"])
    assert ingest["NEWSFLOW_INGEST__PUSH_TOKEN"] == REQUIRED
    assert "NEWSFLOW_INGEST__PUSH_TOKEN" in required_variables(COMPOSE_FILE.read_text(encoding="utf-8"))
    for name in set(worker_services(spec)) - {"ingest"}:
        assert "NEWSFLOW_INGEST__PUSH_TOKEN" not in environment(spec["services"][name]), (
            f"{name} needs no token"
        )


def test_env_example_lists_every_variable_the_compose_files_use() -> None:
    example = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    }
    used = set()
    for path in (COMPOSE_FILE, SECURE_COMPOSE_FILE):
        used |= set(re.findall(r"(?<!\$)\$\{(\w+)", path.read_text(encoding="utf-8")))
    assert used - example == set(), "undocumented in .env.example"
    assert example - used == set(), ".env.example lists variables no compose file reads"


def test_every_container_rotates_its_logs_and_has_memory_and_cpu_limits(spec: dict[str, Any]) -> None:
    for name, svc in spec["services"].items():
        logging = svc.get("logging") or {}
        assert logging.get("driver") == "json-file" and logging["options"]["max-size"], name
        assert int(logging["options"]["max-file"]) >= 1, name
        if name in ONE_SHOT:
            continue
        limits = svc["deploy"]["resources"]["limits"]
        assert limits.get("memory") and limits.get("cpus"), f"{name} has no memory/cpu limit"


def test_newsflow_containers_run_under_an_init_process(spec: dict[str, Any]) -> None:
    for name, svc in spec["services"].items():
        if svc.get("image") == "newsflow:local":
            assert svc.get("init") is True, f"{name}: SIGTERM must reach the worker and zombies be reaped"


def test_elasticsearch_disk_watermarks_are_on_and_the_dedupe_index_has_no_replica(
    spec: dict[str, Any],
) -> None:
    es = environment(spec["services"]["elasticsearch"])
    assert es["cluster.routing.allocation.disk.threshold_enabled"] == "true"
    assert es["discovery.type"] == "single-node"
    for name in worker_services(spec):
        env = environment(spec["services"][name])
        assert env["NEWSFLOW_DEDUPE__INDEX_REPLICAS"] == "0", name
        # a real Elasticsearch: no forced refresh (a small segment) per dedupe batch
        assert env["NEWSFLOW_DEDUPE__REGISTER_REFRESH"] == "wait_for", name


def test_topics_get_partitions_that_divide_evenly_and_an_explicit_retention(
    spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in [v for v in os.environ if v.upper().startswith("NEWSFLOW_")]:
        monkeypatch.delenv(var)
    for var, value in environment(spec["services"]["init"]).items():
        monkeypatch.setenv(var, value)
    kafka = Settings().kafka
    assert all(kafka.partitions % n == 0 for n in (1, 2, 3, 4, 6))
    assert min(h for h in kafka.retention_hours.values() if h != -1) >= 7 * 24


def test_the_secure_overlay_turns_security_on_with_authenticated_healthchecks(secure: dict[str, Any]) -> None:
    services = secure["services"]
    es = environment(services["elasticsearch"])
    assert es["xpack.security.enabled"] == "true" and es["ELASTIC_PASSWORD"] == REQUIRED
    for name in ("elasticsearch", "kibana"):
        check = " ".join(services[name]["healthcheck"]["test"])
        assert "-u " in check and "${" in check, f"{name}: unauthenticated healthcheck fails with security on"
    kibana = environment(services["kibana"])
    assert kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["ELASTICSEARCH_PASSWORD"] == REQUIRED
    setup = (DEPLOY / "es-users.sh").read_text(encoding="utf-8")
    assert "/_security/user/kibana_system/_password" in setup and "/_security/user/newsflow" in setup
    for name in [*worker_services(secure), "init"]:
        env = environment(services[name])
        assert env["NEWSFLOW_ES__USERNAME"] == "newsflow" and env["NEWSFLOW_ES__PASSWORD"] == REQUIRED, name
    assert environment(services["dashboards"])["KIBANA_PASSWORD"] == REQUIRED
    grafana = environment(services["grafana"])
    assert (
        grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and grafana["GF_SECURITY_ADMIN_PASSWORD"] == REQUIRED
    )
    assert "reset-admin-password" in " ".join(services["grafana"]["entrypoint"])
    assert not any("lifecycle" in arg for arg in services["prometheus"]["command"])


def test_the_secure_overlay_has_no_password_default(secure: dict[str, Any]) -> None:
    text = SECURE_COMPOSE_FILE.read_text(encoding="utf-8")
    assert not re.search(r"\$\{\w*PASSWORD\w*:?-", text), "a default password is a known password"


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
