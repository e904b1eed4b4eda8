"""The generated CI runs the commands the generated README gives a person: one source, no drift."""

from __future__ import annotations

import os
import re

import pytest
import yaml
from conftest import VARIANTS, variant_answers, variant_id

MAKE_CALL = re.compile(r"\bmake ([a-z][a-z0-9-]*)")
SCRIPT_CALL = re.compile(r"\./(scripts/[\w.-]+)")


def run_steps(project) -> list[str]:
    """Every `run:` script in the project's workflows."""
    scripts = []
    for workflow in sorted((project / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            scripts += [step["run"] for step in job.get("steps", []) if "run" in step]
    return scripts


def readme_commands(project) -> str:
    """The code in the README, shell blocks and inline spans: what it tells a person to run."""
    readme = (project / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    spans = re.findall(r"`([^`\n]+)`", readme)
    return "\n".join(blocks + spans)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_ci_runs_the_readmes_make_targets_and_nothing_else(render, variant) -> None:
    project = render(**variant_answers(variant))
    ci_targets = {target for script in run_steps(project) for target in MAKE_CALL.findall(script)}
    readme_targets = set(MAKE_CALL.findall(readme_commands(project)))
    makefile_targets = set(
        re.findall(r"^([a-z][a-z0-9-]*):", (project / "Makefile").read_text(), re.M)
    )
    assert {"lint", "test"} <= ci_targets, "CI must run the README's lint and test commands"
    assert ci_targets <= readme_targets, (
        f"CI runs targets the README never mentions: {ci_targets - readme_targets}"
    )
    assert readme_targets <= makefile_targets, (
        f"README names missing targets: {readme_targets - makefile_targets}"
    )


@pytest.mark.parametrize("tier", ["mvp", "growth"])
def test_deploy_workflow_exists_from_mvp_up_and_its_scripts_are_executable(render, tier) -> None:
    project = render(tier=tier)
    assert (project / ".github" / "workflows" / "deploy.yml").is_file()
    for script in (name for run in run_steps(project) for name in SCRIPT_CALL.findall(run)):
        assert os.access(project / script, os.X_OK), f"{script} is called by CI but not executable"


def test_dev_has_no_deploy_workflow(render) -> None:
    project = render(tier="dev")
    assert not (project / ".github" / "workflows" / "deploy.yml").exists()


@pytest.mark.parametrize("tier", ["dev", "mvp", "growth"])
def test_template_update_workflow_runs_the_script_with_a_narrow_token(render, tier) -> None:
    """Issue 35: weekly and on demand, `make template-update`, a token that may only write
    contents (the branch) and pull requests; no job widens it."""
    project = render(tier=tier)
    workflow = yaml.safe_load((project / ".github/workflows/template-update.yml").read_text())
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML 1.1 reads `on` as True
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert all("permissions" not in job for job in workflow["jobs"].values())
    assert "make template-update" in run_steps(project)
    assert (project / "scripts" / "template_update.py").is_file()
