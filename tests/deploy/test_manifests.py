"""Consistency of the deployment artefacts with the production design and with each other.

Offline and pure Python (PyYAML): the processes, ports, probes and environment variables of
``docs/design/production.md`` against ``deploy/docker/Dockerfile`` and ``deploy/k8s/*.yaml``;
the schema itself is checked by ``deploy/check.sh`` (kubernetes-validate, hadolint).
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DESIGN = REPO_ROOT / "docs" / "design" / "production.md"
README = REPO_ROOT / "README.md"
DOCKERFILE = REPO_ROOT / "deploy" / "docker" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / "deploy" / "docker" / "Dockerfile.dockerignore"
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
SECRET_EXAMPLE = "secret.example.yaml"

# Workload (Deployment/StatefulSet name = Dockerfile target) → its row in the design's table.
SERVICES = {
    "calculator": "tariff calculator",
    "actions": "action server",
    "rasa": "Rasa server",
    "web": "web app",
}
RETENTION_ROW = "retention job"
# How the design's "used by" column names each workload (CronJob "retention" included).
USED_BY = {
    "calculator": r"\bcalculator\b",
    "actions": r"\baction server\b",
    "rasa": r"\bRasa\b",
    "web": r"\bweb app\b",
    "retention": r"\bretention job\b",
}
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
NAMESPACED_EXCEPT = {"Namespace"}  # kinds without a namespace in these manifests


# --- the design document -------------------------------------------------------------------


def markdown_table(text: str, first_header: str) -> list[list[str]]:
    """The body rows (cells stripped) of the Markdown table whose first header cell matches."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_header:
            rows = []
            for row in lines[i + 2 :]:  # skip the |---| line
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows
    raise AssertionError(f"no table with first column {first_header!r}")


def code(cell: str) -> str:
    """The text of a cell's first `code span` (the whole cell if none)."""
    found = re.search(r"`([^`]*)`", cell)
    return found.group(1) if found else cell


@dataclass(frozen=True)
class ServiceRow:
    """One row of the design's process table."""

    service: str
    command: list[str]
    ports: list[int]
    liveness: str | None
    readiness: str | None
    metrics: str | None
    replicas: int


def _path(cell: str) -> str | None:
    found = re.fullmatch(r"GET (\S+)", code(cell))
    return found.group(1) if found else None


@cache
def service_rows() -> dict[str, ServiceRow]:
    rows = {}
    for service, command, ports, liveness, readiness, metrics in markdown_table(
        DESIGN.read_text(encoding="utf-8"), "service"
    ):
        count = re.search(r"\(×(\d+)\)", service)
        name = re.sub(r"\s*\(×\d+\)", "", service)
        rows[name] = ServiceRow(
            service=name,
            command=shlex.split(code(command)),
            ports=[int(p) for p in re.findall(r"\b\d{2,5}\b", ports)],
            liveness=_path(liveness),
            readiness=_path(readiness),
            metrics=_path(metrics),
            replicas=int(count.group(1)) if count else 1,
        )
    return rows


@cache
def design_env() -> dict[str, str]:
    """Variable → "used by" cell of the design's environment table."""
    env = {}
    for names, _example, used_by in markdown_table(DESIGN.read_text(encoding="utf-8"), "variable"):
        for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", names):
            env[name] = used_by
    return env


@cache
def readme_env() -> set[str]:
    """The variables of README's "Configuration" table (the production table comes earlier)."""
    text = README.read_text(encoding="utf-8")
    names = set()
    for row in markdown_table(text[text.index("## Configuration"):], "variable"):
        names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", row[0]))
    return names


# --- the Dockerfile ------------------------------------------------------------------------


@dataclass
class Stage:
    """One build stage: its parent stage (if built FROM another stage) and instructions."""

    name: str
    parent: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


@cache
def dockerfile_stages() -> dict[str, Stage]:
    logical: list[str] = []
    current = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not current and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        if current and raw.lstrip().startswith("#"):  # comment inside a continued instruction
            continue
        logical.append(current + raw)
        current = ""
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    for line in logical:
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            found = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", rest.strip(), flags=re.IGNORECASE)
            assert found, f"every stage is named (FROM ... AS name): {line!r}"
            image, name = found.groups()
            stage = Stage(name=name, parent=image if image in stages else None)
            stages[name] = stage
        elif stage is not None:
            stage.instructions.append((keyword, rest.strip()))
    return stages


def stage_chain(target: str) -> list[Stage]:
    """The stage and its ancestors, oldest first."""
    stages = dockerfile_stages()
    chain = [stages[target]]
    while chain[0].parent is not None:
        chain.insert(0, stages[chain[0].parent])
    return chain


def instructions(target: str, keyword: str, *, inherited: bool = True) -> list[str]:
    chain = stage_chain(target) if inherited else [dockerfile_stages()[target]]
    return [rest for stage in chain for kw, rest in stage.instructions if kw == keyword]


def image_env(target: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in instructions(target, "ENV"):
        for pair in shlex.split(rest):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def exec_form(target: str, keyword: str) -> list[str]:
    """The last CMD (or HEALTHCHECK's CMD) of a target, which must be in exec (JSON) form."""
    found = instructions(target, keyword)
    assert found, f"target {target} has no {keyword}"
    text = found[-1]
    if keyword == "HEALTHCHECK":
        text = text[text.index("CMD ") + 4 :]
    value = json.loads(text)
    assert isinstance(value, list), f"{target}: {keyword} must use the exec form"
    return value


# --- the manifests -------------------------------------------------------------------------


@cache
def manifests() -> list[tuple[str, dict[str, Any]]]:
    """(file name, object) of every manifest, the Secret example included."""
    objects = []
    for path in sorted([*K8S_DIR.glob("*.yaml"), *K8S_DIR.glob("*.yml")]):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                objects.append((path.name, doc))
    return objects


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for _, o in manifests() if o["kind"] == kind}


def workloads() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for kind in WORKLOAD_KINDS:
        found.update(objects(kind))
    return found


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return obj["spec"]["template"]["metadata"]["labels"]


def the_container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = pod_spec(obj)["containers"]
    assert len(containers) == 1, f"{obj['metadata']['name']}: one container per pod"
    return containers[0]


def pods_with_containers() -> dict[str, dict[str, Any]]:
    """Workloads and the CronJob, by name."""
    return {**workloads(), **objects("CronJob")}


def configmap() -> dict[str, str]:
    (cm,) = objects("ConfigMap").values()
    return cm["data"]


def secret_keys() -> set[str]:
    (secret,) = objects("Secret").values()
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


def port_number(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    by_name = {p["name"]: p["containerPort"] for p in container["ports"] if "name" in p}
    assert port in by_name, f"{container['name']}: no container port named {port!r}"
    return by_name[port]


def image_target(image: str) -> str:
    """``registry/stadtwerk-assistant/web:1.0`` → ``web`` (the repository's last segment)."""
    repository = image.rsplit("@", 1)[0]
    last = repository.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def replicas(name: str) -> int:
    """Replicas of a workload; an HPA's minReplicas when one scales it."""
    for hpa in objects("HorizontalPodAutoscaler").values():
        if hpa["spec"]["scaleTargetRef"]["name"] == name:
            return int(hpa["spec"]["minReplicas"])
    return int(workloads()[name]["spec"].get("replicas", 1))


def env_names(container: dict[str, Any]) -> list[str]:
    return [e["name"] for e in container.get("env", [])]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# --- the design document is readable (else every other test would test nothing) ------------


def test_design_tables_are_parsed():
    rows = service_rows()
    for row_name in (*SERVICES.values(), RETENTION_ROW):
        assert row_name in rows, f"{row_name!r} missing from the table in {DESIGN}"
    for row_name in SERVICES.values():
        row = rows[row_name]
        assert row.ports and row.liveness and row.readiness and row.metrics, row
    assert {"DATABASE_URL", "RASA_URL", "TRACKER_DB_PASSWORD", "LOCK_STORE_DB"} <= set(design_env())
    assert {"WEB_PORT", "TRAINING_ENABLED"} <= readme_env()


def test_the_four_services_are_deployed():
    assert set(workloads()) == set(SERVICES)
    assert workloads()["rasa"]["kind"] == "StatefulSet"


# --- processes, ports, probes --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_ports_and_probes_match_the_design(name):
    row = service_rows()[SERVICES[name]]
    container = the_container(workloads()[name])
    port = row.ports[0]  # one process per pod: the first port of the local profile
    assert [p["containerPort"] for p in container["ports"]] == [port]
    expected = {
        "livenessProbe": row.liveness,
        "readinessProbe": row.readiness,
        "startupProbe": row.liveness,  # holds liveness off until the process answers
    }
    for probe_name, path in expected.items():
        probe = container.get(probe_name)
        assert probe, f"{name}: no {probe_name}"
        assert probe["httpGet"]["path"] == path, f"{name}: {probe_name} path"
        assert port_number(container, probe["httpGet"]["port"]) == port, f"{name}: {probe_name}"


def test_rasa_startup_probe_allows_a_slow_model_load():
    probe = the_container(workloads()["rasa"])["startupProbe"]
    budget = probe.get("initialDelaySeconds", 0) + probe.get("periodSeconds", 10) * probe.get(
        "failureThreshold", 3
    )
    assert budget >= 120, f"Rasa may need ~60 s to load; the startup probe allows {budget} s"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_prometheus_scrapes_the_metrics_path(name):
    row = service_rows()[SERVICES[name]]
    annotations = workloads()[name]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == row.metrics
    assert annotations["prometheus.io/port"] == str(row.ports[0])


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_replicas_at_least_as_in_the_design(name):
    assert replicas(name) >= max(2, service_rows()[SERVICES[name]].replicas)


def test_services_reach_the_container_ports():
    for service in objects("Service").values():
        name = service["metadata"]["name"]
        matched = [
            w for w in workloads().values() if selects(service["spec"]["selector"], pod_labels(w))
        ]
        assert len(matched) == 1, f"Service {name} selects {len(matched)} workloads"
        container = the_container(matched[0])
        for port in service["spec"]["ports"]:
            target = port_number(container, port.get("targetPort", port["port"]))
            assert target == container["ports"][0]["containerPort"], f"Service {name}"


def test_ingress_routes_to_the_web_service():
    services = objects("Service")
    (ingress,) = objects("Ingress").values()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "web"
            names = {p.get("name") for p in services["web"]["spec"]["ports"]}
            numbers = {p["port"] for p in services["web"]["spec"]["ports"]}
            assert backend["port"].get("name") in names or backend["port"].get("number") in numbers


def test_urls_in_the_configmap_name_existing_services_and_ports():
    services = objects("Service")
    cm = configmap()
    for key in ("ACTION_ENDPOINT_URL", "TARIFF_URL"):
        for url in cm[key].split(","):
            parts = urlsplit(url)
            assert parts.hostname in services, f"{key}: no Service {parts.hostname}"
            ports = {p["port"] for p in services[parts.hostname]["spec"]["ports"]}
            assert parts.port in ports, f"{key}: Service {parts.hostname} has no port {parts.port}"


# --- Rasa's StatefulSet and RASA_URL -------------------------------------------------------


def test_rasa_statefulset_is_addressed_replica_by_replica():
    sts = workloads()["rasa"]
    service = objects("Service")[sts["spec"]["serviceName"]]
    assert service["spec"].get("clusterIP") == "None", "the StatefulSet's Service is headless"
    assert selects(service["spec"]["selector"], pod_labels(sts))
    port = the_container(sts)["ports"][0]["containerPort"]
    urls = [urlsplit(u.strip()) for u in configmap()["RASA_URL"].split(",")]
    expected = [
        f"{sts['metadata']['name']}-{i}.{service['metadata']['name']}"
        for i in range(sts["spec"]["replicas"])
    ]
    assert [u.hostname for u in urls] == expected, "RASA_URL names exactly the StatefulSet's pods"
    assert {u.port for u in urls} == {port}
    assert {u.scheme for u in urls} == {"http"}


# --- environment -----------------------------------------------------------------------------


def test_every_env_name_is_documented():
    documented = set(design_env()) | readme_env()
    names = set(configmap()) | secret_keys()
    for obj in pods_with_containers().values():
        names.update(env_names(the_container(obj)))
    undocumented = sorted(names - documented)
    assert not undocumented, f"not in docs/design/production.md or README.md: {undocumented}"


@pytest.mark.parametrize("name", sorted(USED_BY))
def test_each_process_gets_exactly_the_variables_it_uses(name):
    obj = pods_with_containers()[name]
    container = the_container(obj)
    given = set(env_names(container)) | set(image_env(image_target(container["image"])))
    used_by_me = {
        var
        for var, used_by in design_env().items()
        if re.search(USED_BY[name], used_by) or used_by.strip().lower() == "all"
    }
    missing = used_by_me - given
    assert not missing, f"{name} uses {sorted(missing)} (design) but does not get them"
    foreign = {v for v in env_names(container) if v in design_env()} - used_by_me
    assert not foreign, f"{name} gets {sorted(foreign)}, which the design gives to others"


def test_env_references_resolve():
    cm_name = next(iter(objects("ConfigMap")))
    secret_name = next(iter(objects("Secret")))
    for obj in pods_with_containers().values():
        for entry in the_container(obj).get("env", []):
            source = entry.get("valueFrom", {})
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                assert ref["name"] == cm_name and ref["key"] in configmap(), entry
            elif "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                assert ref["name"] == secret_name and ref["key"] in secret_keys(), entry
            else:
                continue
            # One name everywhere: grep finds a variable in the docs, ConfigMap and pods.
            assert entry["name"] == ref["key"], entry


def test_credentials_are_only_in_the_secret():
    cm = configmap()
    for key in ("SECRET_KEY", "TRACKER_DB_PASSWORD", "DATABASE_URL"):
        assert key not in cm, f"{key} belongs in the Secret"
        assert key in secret_keys()
    for obj in pods_with_containers().values():
        for entry in the_container(obj).get("env", []):
            assert "value" not in entry or entry["name"] not in secret_keys(), entry


# --- pods: resources, probes, security ------------------------------------------------------


@pytest.mark.parametrize("name", sorted([*SERVICES, "retention"]))
def test_pods_are_bounded_and_locked_down(name):
    obj = pods_with_containers()[name]
    spec = pod_spec(obj)
    container = the_container(obj)
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]), f"{name}: requests"
    assert {"cpu", "memory"} <= set(resources["limits"]), f"{name}: limits"
    if obj["kind"] in WORKLOAD_KINDS:
        assert container.get("livenessProbe") and container.get("readinessProbe"), name
    pod_security = spec.get("securityContext", {})
    security = container["securityContext"]
    assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, name
    assert security["allowPrivilegeEscalation"] is False, name
    assert security["capabilities"]["drop"] == ["ALL"], name
    assert security["readOnlyRootFilesystem"] is True, name
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]], f"{name}: writable /tmp"
    # Service links inject WEB_PORT=tcp://... (Service "web"), which bot/settings.py reads.
    assert spec.get("enableServiceLinks") is False, f"{name}: enableServiceLinks: false"
    assert the_container(obj).get("imagePullPolicy") == "IfNotPresent", name


def test_memory_limits_cover_the_measured_rss():
    minimum = {"rasa": 2 * 1024, "web": 2 * 1024, "actions": 400, "calculator": 150}  # MiB
    for name, mib in minimum.items():
        limit = the_container(workloads()[name])["resources"]["limits"]["memory"]
        value = int(re.fullmatch(r"(\d+)(Mi|Gi)", limit).group(1))
        assert value * (1024 if limit.endswith("Gi") else 1) >= mib, f"{name}: {limit}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_multi_replica_workloads_have_a_disruption_budget(name):
    budgets = [
        b
        for b in objects("PodDisruptionBudget").values()
        if selects(b["spec"]["selector"]["matchLabels"], pod_labels(workloads()[name]))
    ]
    assert len(budgets) == 1, f"{name}: {len(budgets)} PodDisruptionBudgets"
    assert budgets[0]["spec"]["minAvailable"] == 1
    assert replicas(name) > 1, "minAvailable 1 of 1 would block every node drain"


def test_web_is_scaled_by_its_autoscaler_only():
    (hpa,) = objects("HorizontalPodAutoscaler").values()
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "web")
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert "replicas" not in workloads()["web"]["spec"], "kubectl apply would reset the HPA"


def test_models_volume_is_shared_by_web_and_rasa():
    pvc = objects("PersistentVolumeClaim")["models"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    model_dir = configmap()["MODEL_DIR"]
    for name, read_only in (("web", False), ("rasa", True)):
        spec = pod_spec(workloads()[name])
        claims = {
            v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in spec["volumes"]
            if "persistentVolumeClaim" in v
        }
        (mount,) = [
            m for m in the_container(workloads()[name])["volumeMounts"] if claims.get(m["name"])
        ]
        assert claims[mount["name"]] == "models" and mount["mountPath"] == model_dir, name
        assert mount.get("readOnly", False) is read_only, name


def test_retention_runs_daily_with_the_designed_command():
    (cronjob,) = objects("CronJob").values()
    fields = cronjob["spec"]["schedule"].split()
    assert len(fields) == 5 and fields[2:] == ["*", "*", "*"], "once a day"
    assert all(f.isdigit() for f in fields[:2]), "at a fixed time"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert the_container(cronjob)["command"] == service_rows()[RETENTION_ROW].command


def test_services_run_the_image_command():
    for name, obj in workloads().items():
        container = the_container(obj)
        assert (
            "command" not in container and "args" not in container
        ), f"{name}: the command is the image's CMD (checked against the design)"


# --- images and the Dockerfile --------------------------------------------------------------


def test_images_come_from_dockerfile_targets():
    targets = set(dockerfile_stages())
    for name, obj in pods_with_containers().items():
        target = image_target(the_container(obj)["image"])
        assert target in targets, f"{name}: image {target!r} is not a Dockerfile target"
        if name in SERVICES:
            assert target == name, f"{name} runs the image of target {target}"
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    images = {the_container(o)["image"].rsplit(":", 1)[0] for o in pods_with_containers().values()}
    assert images == {i["name"] for i in kustomization["images"]}, "kustomization sets every image"


@pytest.mark.parametrize("target", sorted(SERVICES))
def test_dockerfile_cmd_matches_the_design(target):
    command = exec_form(target, "CMD")
    designed = service_rows()[SERVICES[target]].command
    assert len(command) == len(designed), f"{target}: {command} vs {designed}"
    for actual, expected in zip(command, designed, strict=True):
        if re.fullmatch(r"[A-Z][A-Z_]*", expected):  # a placeholder such as MODEL
            continue
        assert actual == expected, f"{target}: {command} vs {designed}"


def test_rasa_starts_with_a_model_from_the_models_volume():
    """``python -m bot rasa-server`` serves the live model or ``MODEL_DIR/assistant.tar.gz``."""
    assert exec_form("rasa", "CMD") == ["python", "-m", "bot", "rasa-server"]
    assert Path(configmap()["MODEL_DIR"]) == Path(image_env("rasa")["MODEL_DIR"])
    mounts = {m["mountPath"] for m in the_container(workloads()["rasa"])["volumeMounts"]}
    assert configmap()["MODEL_DIR"] in mounts


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_rasa_gets_every_variable_of_its_endpoints_and_credentials():
    """Rasa refuses to start when a ``${VAR}`` in these files is unset."""
    from bot.cli import RASA_CREDENTIALS, RASA_ENDPOINTS

    copied = {
        source.rstrip("/")
        for rest in instructions("rasa", "COPY")
        for source in [a for a in shlex.split(rest) if not a.startswith("--")][:-1]
    }
    container = the_container(workloads()["rasa"])
    given = set(env_names(container)) | set(image_env("rasa"))
    for name in (RASA_ENDPOINTS, RASA_CREDENTIALS):
        assert name in copied, f"the rasa image lacks {name}"
        path = REPO_ROOT / name
        assert path.exists(), f"{name} is not in the repository"
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        needed = {v for s in _strings(config) for v in re.findall(r"\$\{(\w+)\}", s)}
        assert needed <= given, f"{name} needs {sorted(needed - given)}, which Rasa does not get"


@pytest.mark.parametrize("target", sorted(SERVICES))
def test_dockerfile_target_exposes_binds_and_checks_health(target):
    row = service_rows()[SERVICES[target]]
    port = row.ports[0]
    assert instructions(target, "EXPOSE", inherited=False) == [str(port)], f"{target}: EXPOSE"
    env = image_env(target)
    assert env.get("BIND_HOST") == "0.0.0.0" and env.get("LOG_FORMAT") == "json", target
    healthcheck = exec_form(target, "HEALTHCHECK")
    assert healthcheck[:2] == ["python", "-c"], f"{target}: no curl in the image"
    assert f"'http://127.0.0.1:{port}{row.liveness}'" in healthcheck[2], target
    users = instructions(target, "USER")
    assert users and users[-1].split(":")[0] not in {"0", "root"}, f"{target}: runs as root"
    assert users[-1].split(":")[0] == str(
        pod_spec(workloads()[target])["securityContext"]["runAsUser"]
    ), f"{target}: the manifest's runAsUser is the image's user"


def test_dockerfile_base_image_is_pinned():
    text = DOCKERFILE.read_text(encoding="utf-8")
    default = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, flags=re.MULTILINE)
    assert default, "the base image is a build argument with a default"
    assert re.fullmatch(r"python:3\.10\.\d+-slim(-\w+)?", default.group(1)), default.group(1)


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    excluded = False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = "".join(
            ".*"
            if token == "**"
            else "[^/]*"
            if token == "*"
            else "[^/]"
            if token == "?"
            else re.escape(token)
            for token in re.split(r"(\*\*|\*|\?)", pattern)
        )
        if any(re.fullmatch(regex, c) for c in candidates):
            excluded = not negate
    return excluded


def test_build_context_holds_what_the_dockerfile_copies():
    sources = []
    for stage in dockerfile_stages().values():
        for keyword, rest in stage.instructions:
            if keyword == "COPY" and "--from" not in rest:
                args = [a for a in shlex.split(rest) if not a.startswith("--")]
                sources.extend(a.rstrip("/") for a in args[:-1])
    assert sources
    for source in sources:
        assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not dockerignore_excludes(source), f"COPY {source}: excluded by {DOCKERIGNORE.name}"
    for heavy in (".venv", "models", "build", ".git", ".env", "build/chat.db"):
        assert dockerignore_excludes(heavy), f"{heavy} must not be sent to the builder"


# --- kustomization and namespaces ------------------------------------------------------------


def test_kustomization_applies_every_manifest_but_the_secret_example():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    files = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml", SECRET_EXAMPLE}
    assert set(kustomization["resources"]) == files
    (namespace,) = objects("Namespace")
    assert kustomization["namespace"] == namespace
    for file_name, obj in manifests():
        if obj["kind"] not in NAMESPACED_EXCEPT:
            assert obj["metadata"].get("namespace") == namespace, f"{file_name}: {obj['kind']}"


# --- the images' Python install ---------------------------------------------------------------


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _direct_runtime_requirements() -> list[str]:
    """What the images install into the environment this test runs in, without dev tools.

    The Rasa environment: pyproject's dependencies (`pip install .`); the application one:
    requirements-app.in up to its development section.
    """
    from bot.environments import current

    if current() == "rasa":
        import tomli

        text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
        return list(tomli.loads(text)["project"]["dependencies"])
    lines = (REPO_ROOT / "requirements-app.in").read_text(encoding="utf-8").splitlines()
    runtime = lines[: lines.index("# development and tests")]
    return [line.split("#")[0].strip() for line in runtime if line.split("#")[0].strip()]


def _runtime_distributions() -> set[str]:
    """Distributions the images install into this environment, closed over their dependencies."""
    from importlib import metadata

    from packaging.requirements import Requirement

    todo = [Requirement(line) for line in _direct_runtime_requirements()]
    seen: set[tuple[str, frozenset[str]]] = set()
    found: set[str] = set()
    while todo:
        requirement = todo.pop()
        key = (_canonical(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue  # not for this platform / Python (its marker excluded it from the install)
        found.add(_canonical(dist.metadata["Name"]))
        for line in dist.requires or []:
            dependency = Requirement(line)
            extras = ("", *requirement.extras)
            if dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in extras
            ):
                todo.append(dependency)
    return found


def _third_party_imports() -> dict[str, str]:
    """Top-level module → first file importing it, over the code this environment runs."""
    from bot.environments import RASA_ONLY_PACKAGES, current, environments_of

    own = {"bot", "actions", "channels"}
    imports: dict[str, str] = {}
    for package in sorted(own):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if current() not in environments_of(module):
                continue
            shared = len(environments_of(module)) > 1
            tree = ast.parse(path.read_text(encoding="utf-8"))
            local = {
                id(n)
                for node in ast.walk(tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                for n in ast.walk(node)
            }
            type_only = {
                id(n)
                for node in ast.walk(tree)
                if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                for n in ast.walk(node)
            }
            for node in ast.walk(tree):
                if id(node) in type_only:
                    continue
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if id(node) in local and top in RASA_ONLY_PACKAGES and shared:
                        continue  # a command of the Rasa environment in a shared module
                    if top not in own and top not in sys.stdlib_module_names:
                        imports.setdefault(top, str(path.relative_to(REPO_ROOT)))
    return imports


def _module_providers() -> dict[str, set[str]]:
    """Top-level module → installed distributions providing it.

    Python 3.10's ``packages_distributions()`` reads only ``top_level.txt``, which wheels built
    by Poetry or Hatch (Rasa, FastAPI, httpx, ...) lack; the RECORD names every file.
    """
    from importlib import metadata

    providers: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        tops = set((dist.read_text("top_level.txt") or "").split())
        for file in dist.files or []:
            first = file.parts[0]
            if first == ".." or first.endswith((".dist-info", ".egg-info", ".pth")):
                continue
            if len(file.parts) > 1 or file.suffix in {".py", ".so"}:
                tops.add(first.split(".")[0])
        for top in tops:
            providers.setdefault(top, set()).add(_canonical(dist.metadata["Name"]))
    return providers


def test_production_install_provides_every_import():
    """The images install the project without the dev extra: nothing may come from it only."""
    providers = _module_providers()
    runtime = _runtime_distributions()
    missing = {
        module: where
        for module, where in _third_party_imports().items()
        if not providers.get(module, set()) & runtime
    }
    assert not missing, (
        f"imported at run time but not installed in this environment's image (only as a "
        f"development tool or not at all): {missing}; add them to [project].dependencies in "
        f"pyproject.toml (Rasa environment) or to requirements-app.in (application environment)"
    )


def test_the_readme_shows_the_production_environment_table_as_designed():
    design = (REPO_ROOT / "docs" / "design" / "production.md").read_text(encoding="utf-8")
    start = design.index("| variable | example | used by |")
    table = design[start:design.index("\n\n", start)]
    assert table in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
