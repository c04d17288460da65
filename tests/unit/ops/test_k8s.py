"""deploy/k8s rendered with `kubectl kustomize` and checked offline: core objects against the Kubernetes schemas
(kubernetes-validate, Kubernetes 1.32), custom resources against the schemas in deploy/k8s/crds, and what the
manifests promise (probes, limits, grace period, one ScaledObject per stage bounded by partitions, ...)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from services.common.settings import Settings
from services.common.topics import SOURCES, STAGES, Stage, group_id, names

from .support import DEPLOY, command, compose, load_yaml, newsflow_env_names

K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.32.0"
"""The Kubernetes version the core objects are validated against (kubectl on these machines is 1.32)."""
OVERLAYS = ["dev", "prod", "prod-monitoring"]
CORE_GROUPS = {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2"}


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl not found: install it (v1.27+, with kustomize) to render deploy/k8s")
    return path


@cache
def _render(tree: str, target: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(Path(tree) / target)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"kubectl kustomize {target} failed:\n{result.stderr}"
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/k8s with overlays/prod/secrets.env made from its example (the real one is not in git)."""
    kubectl()
    copy_ = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy_)
    prod = copy_ / "overlays" / "prod"
    (prod / "secrets.env").write_text(
        "push-token=test-push-token\nes-password=test-es-password\n", encoding="utf-8"
    )
    hpa = copy_ / "overlays" / "hpa-test"
    hpa.mkdir()
    (hpa / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../base]\n"
        "components: [../../components/hpa-cpu]\n",
        encoding="utf-8",
    )
    return copy_


def render(tree: Path, target: str) -> list[dict[str, Any]]:
    return copy.deepcopy(list(_render(str(tree), target)))


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def settings_of(docs: list[dict[str, Any]]) -> dict[str, str]:
    (cm,) = [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("newsflow-settings")
    ]
    return {k: str(v) for k, v in cm["data"].items()}


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workload["spec"]["template"]["spec"]["containers"])


# --- rendering and schemas ------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["base", *(f"overlays/{o}" for o in OVERLAYS), "overlays/hpa-test"])
def test_every_overlay_renders(tree: Path, target: str) -> None:
    docs = render(tree, target)
    assert of_kind(docs, "Deployment"), target


@pytest.mark.parametrize("target", [*(f"overlays/{o}" for o in OVERLAYS), "overlays/hpa-test"])
def test_core_objects_are_valid_kubernetes_objects(tree: Path, target: str) -> None:
    kv = pytest.importorskip("kubernetes_validate", reason="pip install -e '.[dev]' (kubernetes-validate)")
    for doc in render(tree, target):
        if doc["apiVersion"] in CORE_GROUPS:
            try:
                kv.validate(doc, KUBERNETES_VERSION, strict=True)
            except kv.ValidationError as exc:
                pytest.fail(f"{target}: {doc['kind']} {doc['metadata']['name']}: {exc}")


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the openAPIV3Schema shipped in deploy/k8s/crds, as JSON Schema."""
    out = {}
    for path in sorted((K8S / "crds").glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                out[(f"{group}/{version['name']}", kind)] = to_json_schema(
                    version["schema"]["openAPIV3Schema"]
                )
    return out


def to_json_schema(node: Any) -> Any:
    """openAPIV3Schema as JSON Schema: int-or-string and preserve-unknown-fields spelled out."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("x-kubernetes-int-or-string"):
        return {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    out.pop("format", None)  # int32 and friends are not JSON Schema formats
    return out


def crd_errors(doc: dict[str, Any]) -> list[str]:
    jsonschema = pytest.importorskip("jsonschema")
    schema = crd_schemas().get((doc["apiVersion"], doc["kind"]))
    assert schema is not None, f"no schema in deploy/k8s/crds for {doc['apiVersion']} {doc['kind']}"
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(doc)
    ]


@pytest.mark.parametrize("target", [f"overlays/{o}" for o in OVERLAYS])
def test_custom_resources_match_their_crd_schemas(tree: Path, target: str) -> None:
    custom = [d for d in render(tree, target) if d["apiVersion"] not in CORE_GROUPS]
    assert custom
    for doc in custom:
        assert not crd_errors(doc), f"{doc['kind']} {doc['metadata']['name']}: {crd_errors(doc)}"


def test_the_crd_schemas_catch_a_wrong_type_and_an_unknown_field(tree: Path) -> None:
    scaled = next(iter(of_kind(render(tree, "overlays/dev"), "ScaledObject").values()))
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 100  # KEDA wants strings
    assert crd_errors(scaled)
    kafka = next(iter(of_kind(render(tree, "overlays/dev"), "Kafka").values()))
    kafka["spec"]["kafka"]["listners"] = []
    assert crd_errors(kafka)


def test_kubernetes_validate_catches_an_unknown_field(tree: Path) -> None:
    kv = pytest.importorskip("kubernetes_validate")
    deployment = next(iter(of_kind(render(tree, "overlays/prod"), "Deployment").values()))
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 60
    with pytest.raises(kv.ValidationError):
        kv.validate(deployment, KUBERNETES_VERSION, strict=True)


# --- what the manifests promise -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod(tree: Path) -> list[dict[str, Any]]:
    return render(tree, "overlays/prod")


@pytest.fixture(scope="module")
def dev(tree: Path) -> list[dict[str, Any]]:
    return render(tree, "overlays/dev")


def stage_of(deployment: dict[str, Any]) -> str:
    return str(deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"])


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_one_deployment_per_stage_running_the_compose_workers_command(overlay: str, tree: Path) -> None:
    deployments = of_kind(render(tree, f"overlays/{overlay}"), "Deployment")
    assert sorted(stage_of(d) for d in deployments.values()) == sorted(STAGES)
    spec = compose()
    for d in deployments.values():
        (c,) = containers(d)
        assert c["command"] == command(spec["services"][stage_of(d)]), "the same worker as in compose"
        if overlay == "dev":  # kind/k3d load the image compose builds
            assert c["image"] == spec["services"][stage_of(d)]["image"]
        else:
            assert c["image"].rsplit(":", 1)[0].endswith("/newsflow") and not c["image"].endswith(":latest")


def test_workers_are_probed_on_livez_and_readyz_of_their_metrics_port_and_have_requests_and_limits(
    prod: list[dict[str, Any]],
) -> None:
    port = int(settings_of(prod)["NEWSFLOW_WEB_PORT"])
    for d in of_kind(prod, "Deployment").values():
        (c,) = containers(d)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports["metrics"] == port
        assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert c["startupProbe"]["httpGet"]["path"] == "/livez"
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{d['metadata']['name']} {kind}"


def test_the_grace_period_covers_the_commit_path_and_matches_compose(prod: list[dict[str, Any]]) -> None:
    compose_grace = compose()["services"]["enrich"]["stop_grace_period"]
    assert compose_grace.endswith("s")
    request_timeout = Settings().es.request_timeout_s
    for d in of_kind(prod, "Deployment").values():
        grace = d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace == int(compose_grace[:-1])
        assert grace > request_timeout, "a bulk request in flight must finish before the commit"


def test_every_setting_the_configmap_sets_is_a_real_setting(tree: Path) -> None:
    known = newsflow_env_names()
    for overlay in OVERLAYS:
        unknown = set(settings_of(render(tree, f"overlays/{overlay}"))) - known
        assert not unknown, f"{overlay}: {sorted(unknown)}"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_one_scaled_object_per_stage_on_its_groups_lag_never_above_the_partitions(
    overlay: str, tree: Path
) -> None:
    docs = render(tree, f"overlays/{overlay}")
    settings = settings_of(docs)
    partitions = int(settings["NEWSFLOW_KAFKA__PARTITIONS"])
    prefix = settings.get("NEWSFLOW_KAFKA__TOPIC_PREFIX", Settings().kafka.topic_prefix)
    deployments = {d["metadata"]["name"]: stage_of(d) for d in of_kind(docs, "Deployment").values()}
    scaled = of_kind(docs, "ScaledObject")
    targets = {so["spec"]["scaleTargetRef"]["name"] for so in scaled.values()}
    assert targets == set(deployments)
    for so in scaled.values():
        stage = cast(Stage, deployments[so["spec"]["scaleTargetRef"]["name"]])
        assert 1 <= so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"] <= partitions
        triggers = so["spec"]["triggers"]
        assert {t["type"] for t in triggers} == {"kafka"}
        assert {t["metadata"]["topic"] for t in triggers} == {names(prefix).of(t) for t in SOURCES[stage]}
        for t in triggers:
            meta = t["metadata"]
            assert meta["consumerGroup"] == group_id(prefix, stage)
            assert int(meta["lagThreshold"]) > 0
            assert meta["bootstrapServersFromEnv"] in settings, "KEDA reads the address the worker reads"


def test_the_hpa_alternative_scales_every_stage_on_cpu_within_the_partitions(tree: Path) -> None:
    docs = render(tree, "overlays/hpa-test")
    partitions = int(settings_of(docs)["NEWSFLOW_KAFKA__PARTITIONS"])
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == set(of_kind(docs, "Deployment"))
    for h in hpas.values():
        assert h["spec"]["maxReplicas"] <= partitions
        assert h["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_a_disruption_budget_per_stage_lets_one_pod_go_at_a_time(prod: list[dict[str, Any]]) -> None:
    pdbs = of_kind(prod, "PodDisruptionBudget")
    for d in of_kind(prod, "Deployment").values():
        labels = d["spec"]["template"]["metadata"]["labels"]
        matching = [
            p for p in pdbs.values() if p["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(matching) == 1, d["metadata"]["name"]
        assert matching[0]["spec"]["maxUnavailable"] == 1


def test_the_push_api_service_reaches_the_ingest_workers_which_need_a_token(
    prod: list[dict[str, Any]],
) -> None:
    service = of_kind(prod, "Service")["newsflow-push"]
    (ingest,) = [d for d in of_kind(prod, "Deployment").values() if stage_of(d) == "ingest"]
    assert service["spec"]["selector"].items() <= ingest["spec"]["template"]["metadata"]["labels"].items()
    (c,) = containers(ingest)
    assert service["spec"]["ports"][0]["targetPort"] in {p["name"] for p in c["ports"]}
    env = {e["name"]: e for e in c["env"]}
    ref = env["NEWSFLOW_INGEST__PUSH_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert not ref.get("optional"), "without a token the push API must not start"
    (secret,) = of_kind(prod, "Secret").values()
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["data"]
    assert env["NEWSFLOW_INGEST__PUSH_HOST"]["value"] == "0.0.0.0"


def test_no_worker_starts_before_topics_template_and_alias_exist(prod: list[dict[str, Any]]) -> None:
    for d in of_kind(prod, "Deployment").values():
        (init,) = d["spec"]["template"]["spec"]["initContainers"]
        (worker,) = containers(d)
        assert init["command"] == ["newsflow", "init"]
        assert init["image"] == worker["image"] and init["envFrom"] == worker["envFrom"]


def test_the_init_job_runs_newsflow_init_and_topics(prod: list[dict[str, Any]]) -> None:
    (job,) = of_kind(prod, "Job").values()
    (c,) = containers(job)
    script = " ".join(c["command"])
    assert "newsflow init" in script and "newsflow topics" in script
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"


def test_dev_points_the_workers_at_the_operators_services(dev: list[dict[str, Any]]) -> None:
    settings = settings_of(dev)
    (kafka,) = of_kind(dev, "Kafka").values()
    plain = next(lst for lst in kafka["spec"]["kafka"]["listeners"] if not lst["tls"])
    assert (
        settings["NEWSFLOW_KAFKA__BOOTSTRAP"]
        == f"{kafka['metadata']['name']}-kafka-bootstrap:{plain['port']}"
    )
    pools = of_kind(dev, "KafkaNodePool").values()
    assert all(p["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"] for p in pools)
    (es,) = of_kind(dev, "Elasticsearch").values()
    assert es["spec"]["http"]["tls"]["selfSignedCertificate"]["disabled"] is True
    assert settings["NEWSFLOW_ES__URL"] == f"http://{es['metadata']['name']}-es-http:9200"
    assert settings["NEWSFLOW_DEDUPE__INDEX_REPLICAS"] == "0", "one Elasticsearch node"
    assert settings["NEWSFLOW_DEDUPE__REGISTER_REFRESH"] == "wait_for", "no forced refresh per dedupe batch"
    for workload in [*of_kind(dev, "Deployment").values(), *of_kind(dev, "Job").values()]:
        pod = workload["spec"]["template"]["spec"]
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            env = {e["name"]: e for e in c["env"]}
            ref = env["NEWSFLOW_ES__PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"{es['metadata']['name']}-es-elastic-user", "key": "elastic"}


def test_the_service_monitor_scrapes_the_workers_with_the_labels_the_alerts_select(tree: Path) -> None:
    docs = render(tree, "overlays/prod-monitoring")
    (monitor,) = of_kind(docs, "ServiceMonitor").values()
    service = of_kind(docs, "Service")["newsflow-workers"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "newsflow", (
        'alerts select job="newsflow"'
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert any(r["targetLabel"] == "service" for r in endpoint["relabelings"])
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    workers = {stage_of(d) for d in of_kind(docs, "Deployment").values()}
    for d in of_kind(docs, "Deployment").values():
        assert service["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
    assert workers == set(STAGES)


def test_the_prod_secret_is_not_in_git() -> None:
    ignore = (K8S / "overlays" / "prod" / ".gitignore").read_text(encoding="utf-8").split()
    assert "secrets.env" in ignore
    assert not (K8S / "overlays" / "prod" / "secrets.env").exists() or "secrets.env" in ignore
    example = load_yaml(K8S / "overlays" / "prod" / "kustomization.yaml")
    assert example["secretGenerator"][0]["envs"] == ["secrets.env"]
