"""Does every setting a production deploy sets reach the processes that read it?

The app reads its settings from the environment (backend/app/core/config.py's Settings, nested
ones as OUTER__INNER, and the OpenTelemetry SDK's own OTEL_* variables). Production sets them:

- growth: the Secret (k8s/secret.example.yaml lists its keys) and the ConfigMap api-config
  (kustomization.yaml's configMapGenerator makes it from k8s/api-config.env);
- mvp: the droplet's .env (made from .env.example).

Each such variable that the app reads must reach the API and the job worker: on growth through
their pods' `env`, `envFrom` ConfigMap or Secret; on mvp through their containers' `env_file` or
`environment`. Used by tests/test_k8s.py and the all-combinations check.

On mvp the reverse holds too (issue 29): .env also holds what only other containers need (the
backup's storage key, the tunnel token, the Slack webhook, the database password), and a container
running the app gets none of it (`given_but_unread`, tests/test_deploy.py).
"""

from __future__ import annotations

import importlib.util
import re
import types
import typing
from pathlib import Path

import yaml
from pydantic import AliasChoices, BaseModel

from extensions.env_file import example_variables

APP_CONTAINERS = {"growth": ("k8s/api.yaml", "k8s/worker.yaml"), "mvp": ("api", "worker")}
# The mvp services that run the app's image and read its Settings (alembic's env.py does too).
MVP_APP_SERVICES = ("api", "worker", "migrations")
# `NAME=value` or an optional, commented-out `# NAME=value` line of .env.example.
MENTIONED = re.compile(r"^#?[ \t]*([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)


def _models(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models inside a field's type (`Model`, `Model | None`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [model for arg in typing.get_args(annotation) for model in _models(arg)]
    return []


def _names(model: type[BaseModel], prefix: str = "") -> set[str]:
    found = set()
    for name, field in model.model_fields.items():
        alias = field.validation_alias
        own = alias.choices if isinstance(alias, AliasChoices) else [alias or name]
        found.update(f"{prefix}{choice}".upper() for choice in own if isinstance(choice, str))
        for nested in _models(field.annotation):
            found |= _names(nested, f"{prefix}{name}__".upper())
    return found


def variables_read(project: Path) -> set[str]:
    """The environment variables the rendered app's Settings read, nested ones included."""
    path = project / "backend" / "app" / "core" / "config.py"
    spec = importlib.util.spec_from_file_location(f"config_of_{abs(hash(project))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return _names(module.Settings)


def _reads(name: str, read: set[str]) -> bool:
    return name in read or name.startswith("OTEL_")


def _k8s_documents(project: Path, name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((project / name).read_text()) if doc]


def _k8s_config_maps(project: Path) -> dict[str, set[str]]:
    """The keys of each ConfigMap k8s/kustomization.yaml generates from env files (NAME=value
    lines; `#` lines are comments), by the name the manifests use (kustomize adds the hash)."""
    kustomization = yaml.safe_load((project / "k8s" / "kustomization.yaml").read_text())
    config_maps = {}
    for generator in kustomization.get("configMapGenerator", []):
        lines = [
            line.strip()
            for env_file in generator.get("envs", [])
            for line in (project / "k8s" / env_file).read_text().splitlines()
        ]
        config_maps[generator["name"]] = {
            line.split("=", 1)[0] for line in lines if line and not line.startswith("#")
        }
    return config_maps


def _k8s_delivered(project: Path, manifest: str) -> set[str]:
    """What the one container of `manifest`'s workload gets in its environment."""
    config_maps = _k8s_config_maps(project)
    secrets = {
        doc["metadata"]["name"]: set(doc.get("stringData", {}))
        for doc in _k8s_documents(project, "k8s/secret.example.yaml")
    }
    (workload,) = [
        doc for doc in _k8s_documents(project, manifest) if doc["kind"] in {"Deployment", "Job"}
    ]
    spec = workload["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    delivered = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            delivered |= config_maps[source["configMapRef"]["name"]]
        if "secretRef" in source:
            delivered |= secrets[source["secretRef"]["name"]]
    return delivered


def _growth_production(project: Path) -> set[str]:
    secret = _k8s_documents(project, "k8s/secret.example.yaml")[0]
    return _k8s_config_maps(project)["api-config"] | set(secret["stringData"])


def _compose_services(project: Path) -> dict:
    return yaml.safe_load((project / "compose.prod.yaml").read_text())["services"]


def _mvp_production(project: Path) -> set[str]:
    return {v.name for v in example_variables((project / ".env.example").read_text())}


def _compose_delivered(project: Path, service: str) -> set[str]:
    """The names the service gets: its `environment` (a mapping, or a list of NAME=value and bare
    NAME entries, which compose passes from .env) and, if it loads .env whole with `env_file`,
    every variable of .env.example."""
    spec = _compose_services(project)[service]
    env_files = spec.get("env_file", [])
    env_files = [env_files] if isinstance(env_files, str) else env_files
    environment = spec.get("environment", {})
    if isinstance(environment, list):
        delivered = {entry.split("=", 1)[0] for entry in environment}
    else:
        delivered = set(environment)
    if ".env" in [e if isinstance(e, str) else e.get("path") for e in env_files]:
        delivered |= {v.name for v in example_variables((project / ".env.example").read_text())}
    return delivered


def mentioned_variables(project: Path) -> set[str]:
    """Every variable .env.example names: the ones it sets and the optional, commented-out ones."""
    return set(MENTIONED.findall((project / ".env.example").read_text()))


def given_but_unread(project: Path) -> dict[str, list[str]]:
    """For each mvp service running the app, the variables of .env.example it is given that the
    app does not read (secrets of other containers); empty when each gets only its own."""
    read = variables_read(project)
    extra = {
        service: sorted(
            name
            for name in _compose_delivered(project, service) & mentioned_variables(project)
            if not _reads(name, read)
        )
        for service in MVP_APP_SERVICES
    }
    return {service: names for service, names in extra.items() if names}


def unpassed_options(project: Path, service: str = "api") -> list[str]:
    """The optional variables .env.example names (commented out) that the app reads but the mvp
    `service` is not given: a founder setting one in .env would see no effect."""
    read = variables_read(project)
    wanted = {name for name in mentioned_variables(project) if _reads(name, read)}
    return sorted(wanted - _compose_delivered(project, service))


def undelivered(project: Path, tier: str) -> dict[str, list[str]]:
    """For each app container of `tier` (growth or mvp), the production variables the app reads
    that it does not receive; empty when every one arrives."""
    if tier not in APP_CONTAINERS:
        return {}
    read = variables_read(project)
    if tier == "growth":
        production, delivered = _growth_production(project), _k8s_delivered
    else:
        production, delivered = _mvp_production(project), _compose_delivered
    wanted = {name for name in production if _reads(name, read)}
    missing = {
        container: sorted(wanted - delivered(project, container))
        for container in APP_CONTAINERS[tier]
    }
    return {container: names for container, names in missing.items() if names}
