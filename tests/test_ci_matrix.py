"""Shell logic in workflows that actionlint cannot see, run here once: the template's CI matrix, the
generated deploy workflows' computed image names and mvp's check that a deploy is not older than
what runs."""

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


# What the droplet's .env holds for each case of the order check (None: no IMAGE_TIME yet).
ORDER_CASES = [
    # (commit time of the release, IMAGE_TIME on the droplet, allow_older, skipped)
    (1_764_000_100, 1_764_000_000, "false", "false"),
    (1_764_000_000, 1_764_000_100, "false", "true"),
    (1_764_000_000, None, "false", "false"),
    (1_764_000_000, 1_764_000_100, "true", "false"),
]


@pytest.mark.parametrize(("release", "running", "allow_older", "skipped"), ORDER_CASES)
def test_an_mvp_deploy_of_a_commit_older_than_the_running_one_is_skipped(
    render, tmp_path, release, running, allow_older, skipped
) -> None:
    """Issue 29: two deploy runs whose CI ended out of order put the older commit's images and
    files over the newer ones. The step compares commit times with the droplet's IMAGE_TIME."""
    project = render(tier="mvp")
    order = step(
        project / ".github/workflows/deploy.yml", "deploy", lambda s: s.get("id") == "order"
    )
    repository = tmp_path / "checkout"
    repository.mkdir()
    git = ["git", "-C", str(repository), "-c", "user.name=F", "-c", "user.email=f@example.com"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    dated = {**os.environ, "GIT_COMMITTER_DATE": f"@{release} +0000"}
    subprocess.run([*git, "commit", "--quiet", "--allow-empty", "-m", "r"], check=True, env=dated)
    # An ssh stand-in that runs the remote command here, against a droplet folder of its own.
    droplet = tmp_path / "droplet"
    droplet.mkdir()
    if running is not None:
        (droplet / ".env").write_text(f"SECRET_KEY=x\nIMAGE_TIME={running}\n")
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    (stand_ins / "ssh").write_text('#!/usr/bin/env bash\nexec bash -c "${@: -1}"\n')
    (stand_ins / "ssh").chmod(0o755)
    written = run_step(
        order["run"],
        repository,
        tmp_path,
        PATH=f"{stand_ins}:{os.environ['PATH']}",
        DEPLOY_TARGET="deploy@droplet",
        DEPLOY_PATH=str(droplet),
        IMAGE_TAG="abc123",
        ALLOW_OLDER=allow_older,
    )
    assert written == {"release_time": str(release), "skip": skipped}
    deploy_steps = yaml.safe_load((project / ".github/workflows/deploy.yml").read_text())
    steps = deploy_steps["jobs"]["deploy"]["steps"]
    later = steps[[s.get("id") for s in steps].index("order") + 1 :]
    assert "rsync" in later[0]["run"] and "scripts/deploy.sh" in later[1]["run"]
    assert all(s.get("if") == "steps.order.outputs.skip == 'false'" for s in later)
