"""checkov, an infrastructure-as-code security scanner, over what the generated project builds and
deploys: Dockerfiles, GitHub workflows, the Kubernetes objects `kubectl kustomize k8s/` produces
(what ArgoCD applies) and, for hard-coded secrets, the compose files (checkov has no compose
framework). What it may skip, and why, is in checkov.yaml next to this file."""

from __future__ import annotations

from pathlib import Path

import nox

from tests.variant_checks import infra
from tests.variant_checks.common import Variant

CONFIG = Path(__file__).with_name("checkov.yaml")


def run(session: nox.Session, variant: Variant) -> None:
    session.install("checkov>=3.2")
    project = variant.project.resolve()
    files = [
        *infra.dockerfiles(project),
        *sorted(project.glob(".github/workflows/*.yml")),
        *sorted(project.glob("compose*.yaml")),
    ]
    if (project / "k8s").is_dir():
        files.append(infra.kustomized(session, variant))
    frameworks = ["dockerfile", "github_actions", "kubernetes", "secrets"]
    session.run(
        "checkov", "--config-file", str(CONFIG), "--framework", *frameworks,
        "--file", *map(str, files),
    )  # fmt: skip
