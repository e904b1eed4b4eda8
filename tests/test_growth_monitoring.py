"""growth's monitoring stack as code (monitoring/argocd/, synced by ArgoCD) and the invariant that
pays for it: every pod's requests fit the node pool, like mvp's memory budget.

The app's workloads are read from `kubectl kustomize k8s/` (what ArgoCD applies, so a new
Deployment such as the job worker is counted without changing this file), the monitoring stack's
from the Helm values its Applications render from tiers.toml.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import DOMAIN, TIERS

GROWTH = TIERS["growth"]
PINNED = re.compile(r"^\d+\.\d+\.\d+$")
# Where each pod of tiers.toml's monitoring_pods gets its resources: (Application, values path).
MONITORING_RESOURCES = {
    "prometheus": ("prometheus", "server.resources"),
    "prometheus_config_reloader": ("prometheus", "configmapReload.prometheus.resources"),
    "alertmanager": ("prometheus", "alertmanager.resources"),
    "node_exporter": ("prometheus", "prometheus-node-exporter.resources"),
    "kube_state_metrics": ("prometheus", "kube-state-metrics.resources"),
    "grafana": ("grafana", "resources"),
    "grafana_sidecar": ("grafana", "sidecar.resources"),
    "loki": ("loki", "singleBinary.resources"),
    "alloy": ("alloy", "alloy.resources"),
    "alloy_config_reloader": ("alloy", "configReloader.resources"),
    "alertmanager_config_reloader": ("prometheus", "alertmanager.configmapReload.resources"),
    "metrics_server": ("metrics-server", "resources"),
    "blackbox_exporter": ("blackbox-exporter", "resources"),
}
# Cluster add-ons ArgoCD installs beside the monitoring stack, and their namespaces.
ADD_ON_NAMESPACES = {"metrics-server": "kube-system"}
# Pods whose replica count is a value of their chart (else one, or one per node).
MONITORING_REPLICAS = {"loki": "singleBinary.replicas", "alloy": "controller.replicas"}


@dataclass(frozen=True)
class Workload:
    name: str
    pods: int
    cpu_millicores: int  # requests of one pod
    memory_mb: int


@pytest.fixture(scope="module")
def growth(copie_session) -> Path:
    answers = {"tier": "growth", "domain": DOMAIN, "frontend": True}
    result = copie_session.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    return result.project_dir


def kustomize(directory: Path) -> list[dict]:
    built = subprocess.run(
        ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True
    )
    return [document for document in yaml.safe_load_all(built.stdout) if document]


@pytest.fixture(scope="module")
def applications(growth) -> dict[str, dict]:
    return {app["metadata"]["name"]: app for app in kustomize(growth / "monitoring" / "argocd")}


def values(application: dict) -> dict:
    return application["spec"]["source"].get("helm", {}).get("valuesObject", {})


def dig(tree: dict, dotted: str):
    for key in dotted.split("."):
        tree = tree[key]
    return tree


def millicores(quantity: str | int) -> int:
    text = str(quantity)
    return int(text[:-1]) if text.endswith("m") else round(float(text) * 1000)


def mebibytes(quantity: str) -> int:
    units = {"Mi": 1, "Gi": 1024, "M": 1, "G": 1000}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return round(float(quantity[: -len(suffix)]) * factor)
    return round(int(quantity) / 2**20)


def pod_requests(spec: dict) -> tuple[int, int]:
    """A pod's (CPU, memory) requests: its containers' sum, or its largest init container's."""

    def requests(container: dict) -> tuple[int, int]:
        asked = container.get("resources", {}).get("requests", {})
        return millicores(asked.get("cpu", 0)), mebibytes(str(asked.get("memory", "0Mi")))

    running = [requests(c) for c in spec["containers"]]
    starting = [requests(c) for c in spec.get("initContainers", [])] or [(0, 0)]
    return (
        max(sum(cpu for cpu, _ in running), max(cpu for cpu, _ in starting)),
        max(sum(memory for _, memory in running), max(memory for _, memory in starting)),
    )


def app_workloads(objects: list[dict]) -> list[Workload]:
    """Every pod the app's manifests run: Deployments at their HPA's minimum (else their
    replicas), one pod per Job and CronJob (they run one at a time)."""
    minimum = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa["spec"]["minReplicas"]
        for hpa in objects
        if hpa["kind"] == "HorizontalPodAutoscaler"
    }
    workloads = []
    for item in objects:
        name, spec = item["metadata"]["name"], item.get("spec", {})
        if item["kind"] in {"Deployment", "StatefulSet"}:
            pods, template = minimum.get(name, spec.get("replicas", 1)), spec["template"]
        elif item["kind"] == "Job":
            pods, template = spec.get("parallelism", 1), spec["template"]
        elif item["kind"] == "CronJob":
            pods, template = 1, spec["jobTemplate"]["spec"]["template"]
        else:
            continue
        workloads.append(Workload(f"{item['kind']}/{name}", pods, *pod_requests(template["spec"])))
    return workloads


def monitoring_workloads(applications: dict[str, dict]) -> list[Workload]:
    workloads = []
    for name, pod in GROWTH["monitoring_pods"].items():
        app, path = MONITORING_RESOURCES[name]
        chart_values = values(applications[app])
        asked = dig(chart_values, path)["requests"]
        if pod.get("per_node"):
            pods = GROWTH["node_count"]
        elif name in MONITORING_REPLICAS:
            pods = dig(chart_values, MONITORING_REPLICAS[name])
        else:
            pods = 1
        containers = pod.get("containers", 1)
        cpu, memory = millicores(asked["cpu"]) * containers, mebibytes(asked["memory"]) * containers
        workloads.append(Workload(f"{app}/{name}", pods, cpu, memory))
    return workloads


def table(workloads: list[Workload]) -> str:
    lines = [
        f"{w.name:48} {w.pods:>2} x {w.cpu_millicores:>4}m {w.memory_mb:>5} MiB" for w in workloads
    ]
    return "\n".join(lines)


def test_every_pod_fits_the_node_pool(growth, applications) -> None:
    workloads = app_workloads(kustomize(growth / "k8s")) + monitoring_workloads(applications)
    nodes, node = GROWTH["node_count"], GROWTH["node_allocatable"]
    cpu = sum(w.pods * w.cpu_millicores for w in workloads)
    memory = sum(w.pods * w.memory_mb for w in workloads)
    cpu_free = nodes * (node["cpu_millicores"] - node["system_pods_cpu_millicores"])
    memory_free = nodes * (node["memory_mb"] - node["system_pods_memory_mb"])
    summary = (
        f"{table(workloads)}\nrequests {cpu}m CPU, {memory} MiB; the {nodes} nodes leave pods "
        f"{cpu_free}m CPU, {memory_free} MiB"
    )
    assert cpu <= cpu_free, summary
    assert memory <= memory_free, summary
    # No single pod is larger than one node can hold.
    for workload in workloads:
        assert workload.memory_mb <= node["memory_mb"] - node["system_pods_memory_mb"], workload
        assert (
            workload.cpu_millicores <= node["cpu_millicores"] - node["system_pods_cpu_millicores"]
        )


def test_every_monitoring_pod_of_the_profile_renders_its_requests_and_limits(applications) -> None:
    assert set(GROWTH["monitoring_pods"]) == set(MONITORING_RESOURCES)
    for name, pod in GROWTH["monitoring_pods"].items():
        app, path = MONITORING_RESOURCES[name]
        resources = dig(values(applications[app]), path)
        assert resources == {
            "requests": {"cpu": f"{pod['cpu_request']}m", "memory": f"{pod['memory_request']}Mi"},
            "limits": {"cpu": f"{pod['cpu_limit']}m", "memory": f"{pod['memory_limit']}Mi"},
        }, name


def test_the_stack_is_the_one_the_profile_names_each_chart_pinned(applications) -> None:
    assert GROWTH["monitoring"] == "prometheus + alertmanager + grafana + loki"
    charts = {
        app["spec"]["source"]["chart"]: app
        for app in applications.values()
        if "chart" in app["spec"]["source"]
    }
    assert {"prometheus", "grafana", "loki", "alloy"} <= set(charts)
    for name, app in applications.items():
        spec = app["spec"]
        assert spec["destination"]["namespace"] == ADD_ON_NAMESPACES.get(name, "monitoring"), name
        assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}, name
        if "chart" in spec["source"]:
            assert PINNED.match(spec["source"]["targetRevision"]), name
    assert values(charts["prometheus"])["alertmanager"]["config"] == {"enabled": False}


def test_retention_and_volumes_come_from_the_profile(applications) -> None:
    storage = GROWTH["monitoring_storage_gb"]
    prometheus = values(applications["prometheus"])
    assert prometheus["server"]["retention"] == f"{GROWTH['prometheus']['retention_days']}d"
    assert prometheus["server"]["retentionSize"] == f"{GROWTH['prometheus']['retention_size_mb']}MB"
    assert prometheus["server"]["persistentVolume"]["size"] == f"{storage['prometheus']}Gi"
    assert prometheus["alertmanager"]["persistence"]["size"] == f"{storage['alertmanager']}Gi"
    loki = values(applications["loki"])
    retention_hours = GROWTH["loki"]["retention_days"] * 24
    assert loki["loki"]["limits_config"]["retention_period"] == f"{retention_hours}h"
    assert loki["loki"]["compactor"]["retention_enabled"] is True
    assert loki["singleBinary"]["persistence"]["size"] == f"{storage['loki']}Gi"
    assert values(applications["grafana"])["persistence"]["size"] == f"{storage['grafana']}Gi"


def test_the_autoscalers_have_a_metrics_server_counted_in_the_node_pool(growth, applications):
    """Issue 29: DOKS has no metrics-server, so every HPA (CPU utilisation, from metrics.k8s.io)
    showed <unknown> and stayed at its minimum. ArgoCD installs it; its requests are counted by
    test_every_pod_fits_the_node_pool through MONITORING_RESOURCES."""
    hpas = [item for item in kustomize(growth / "k8s") if item["kind"] == "HorizontalPodAutoscaler"]
    assert hpas
    for hpa in hpas:
        kinds = {metric["type"] for metric in hpa["spec"]["metrics"]}
        assert kinds == {"Resource"}, hpa["metadata"]["name"]
    charts = {app["spec"]["source"].get("chart"): app for app in applications.values()}
    assert "metrics-server" in charts, sorted(filter(None, charts))
    server = charts["metrics-server"]
    assert server["spec"]["destination"]["namespace"] == "kube-system"
    assert values(server).get("apiService", {}).get("create", True) is True
    assert GROWTH["monitoring_pods"]["metrics_server"]


def test_alertmanager_reloads_the_file_it_reads(applications) -> None:
    """Issue 29: operations.md says Alertmanager reloads alertmanager.yml's ConfigMap on change,
    but the chart's config reloader was off: an edit waited for the next pod restart."""
    alertmanager = values(applications["prometheus"])["alertmanager"]
    config_dir = str(Path(alertmanager["extraArgs"]["config.file"]).parent)
    reload = alertmanager.get("configmapReload", {})
    assert reload.get("enabled") is True
    assert reload["extraArgs"]["watched-dir"] == config_dir
    mounted = {m["mountPath"]: m["name"] for m in reload["extraVolumeMounts"]}
    volumes = {v["name"]: v for v in alertmanager["extraVolumes"]}
    config_map = volumes[mounted[config_dir]]["configMap"]["name"]
    assert config_map == "alertmanager-project-config"


def test_grafana_replaces_its_pod_instead_of_rolling_it(applications) -> None:
    """Issue 29: Grafana's volume is ReadWriteOnce (the chart's default access mode); with
    RollingUpdate the new pod hangs on a Multi-Attach error while the old one holds it."""
    grafana = values(applications["grafana"])
    assert grafana["persistence"]["enabled"] is True
    assert grafana["persistence"].get("accessModes", ["ReadWriteOnce"]) == ["ReadWriteOnce"]
    assert grafana.get("deploymentStrategy", {}).get("type") == "Recreate"


def test_prometheus_reads_this_repositorys_config_and_every_rule_file(growth, applications):
    monitoring = growth / "monitoring"
    config_maps = {item["metadata"]["name"]: item for item in kustomize(monitoring)}
    rule_files = {path.name for path in (monitoring / "rules").glob("*.yml")}
    keys = set(config_maps["prometheus-project-config"]["data"])
    assert keys == {"prometheus.yml"} | rule_files
    server = values(applications["prometheus"])["server"]
    volume = next(v for v in server["extraVolumes"] if v["name"] == "project-config")
    mount = next(m for m in server["extraVolumeMounts"] if m["name"] == "project-config")
    paths = {item["key"]: item["path"] for item in volume["configMap"]["items"]}
    assert paths == {"prometheus.yml": "prometheus.yml"} | {f: f"rules/{f}" for f in rule_files}
    assert server["configPath"] == f"{mount['mountPath']}/prometheus.yml"
    config = yaml.safe_load((monitoring / "prometheus.yml").read_text())
    assert config["rule_files"] == ["rules/*.yml"]
    # Alertmanager: the file and the Secret its slack_configs read.
    alertmanager = values(applications["prometheus"])["alertmanager"]
    assert "alertmanager.yml" in config_maps["alertmanager-project-config"]["data"]
    assert alertmanager["extraArgs"]["config.file"] == "/etc/project/alertmanager.yml"
    routes = yaml.safe_load((monitoring / "alertmanager.yml").read_text())
    webhook_file = routes["receivers"][0]["slack_configs"][0]["api_url_file"]
    secret_dirs = {mount["mountPath"] for mount in alertmanager["extraSecretMounts"]}
    assert str(Path(webhook_file).parent) in secret_dirs


def test_grafana_loads_the_dashboard_and_both_datasources(growth, applications) -> None:
    config_maps = {item["metadata"]["name"]: item for item in kustomize(growth / "monitoring")}
    sidecar = values(applications["grafana"])["sidecar"]
    for kind in ("dashboards", "datasources"):
        labels = config_maps[f"grafana-{kind}"]["metadata"]["labels"]
        assert labels[sidecar[kind]["label"]] == sidecar[kind]["labelValue"], kind
    dashboards = config_maps["grafana-dashboards"]["data"]
    assert "api-overview.json" in dashboards
    urls = {}
    for text in config_maps["grafana-datasources"]["data"].values():
        for source in yaml.safe_load(text)["datasources"]:
            urls[source["type"]] = source["url"]
    # The Services the charts create for their release names.
    prometheus_release = applications["prometheus"]["spec"]["source"]["helm"]["releaseName"]
    loki_release = applications["loki"]["spec"]["source"]["helm"]["releaseName"]
    assert urls["prometheus"] == f"http://{prometheus_release}-server.monitoring.svc"
    assert urls["loki"] == f"http://{loki_release}.monitoring.svc:3100"
    alloy_config = values(applications["alloy"])["alloy"]["configMap"]["content"]
    assert f'"{urls["loki"]}/loki/api/v1/push"' in alloy_config
    # Every uid a dashboard panel names is a provisioned datasource.
    uids = {
        source["uid"]
        for text in config_maps["grafana-datasources"]["data"].values()
        for source in yaml.safe_load(text)["datasources"]
    }
    dashboard = json.loads(dashboards["api-overview.json"])
    used = {
        panel["datasource"]["uid"]
        for panel in dashboard["panels"] + [t for p in dashboard["panels"] for t in p["targets"]]
        if "datasource" in panel
    }
    assert used <= uids, used - uids


def test_the_app_of_apps_syncs_the_monitoring_applications(growth) -> None:
    root = yaml.safe_load((growth / "k8s" / "argocd-monitoring.yaml").read_text())
    assert root["kind"] == "Application"
    assert (growth / root["spec"]["source"]["path"] / "kustomization.yaml").is_file()
