"""Shell logic in workflows that actionlint cannot see, run here once: the template's CI matrix and
the generated deploy workflows' computed image names."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, VARIANTS, variant_id


def step(workflow: Path, job: str, predicate) -> dict:
    """The one step of `job` in `workflow` that `predicate` accepts."""
    steps = [s for s in yaml.safe_load(workflow.read_text())["jobs"][job]["steps"] if predicate(s)]
    assert len(steps) == 1, f"expected one such step in {workflow.name}:{job}, found {len(steps)}"
    return steps[0]


def run_step(script: str, cwd: Path, tmp_path: Path, **env: str) -> dict[str, str]:
    """Run a step's `run:` script as Actions does (bash -e) and return what it wrote to
    $GITHUB_OUTPUT."""
    output = tmp_path / "github-output"
    output.write_text("")
    subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, **env, "GITHUB_OUTPUT": str(output)},
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_the_ci_matrix_lists_each_default_session_once_by_its_full_id(tmp_path) -> None:
    listing = step(ROOT / ".github/workflows/ci.yml", "sessions", lambda s: s.get("id") == "list")
    names = json.loads(run_step(listing["run"], ROOT, tmp_path)["names"])

    assert len(names) == len(set(names)), f"sessions listed more than once: {names}"
    assert not {"lint", "tests"} & set(names), "lint and tests run in their own job"
    assert "suite" not in names, "suite runs the others: a job of its own would run them twice"
    for variant in VARIANTS:
        assert f"variant({variant_id(variant)})" in names
    assert {"combinations", "api", "update", "docs", "backups", "monitoring"} <= set(names)


@pytest.mark.parametrize("tier", ["mvp", "growth"])
def test_deploy_workflow_names_images_in_lowercase(render, tier, tmp_path) -> None:
    """GHCR refuses upper-case image names; GitHub owners often have them."""
    project = render(tier=tier)
    workflow = project / ".github/workflows/deploy.yml"
    naming = step(workflow, "images", lambda s: s.get("id") == "name")
    written = run_step(naming["run"], project, tmp_path, GITHUB_REPOSITORY="Acme-Labs/My-App")
    assert written == {"repository": "acme-labs/my-app"}
