"""Every refusal a founder can meet in `copier copy` and `copier update`, run as they run it (the
plain CLI, answers typed at a real prompt): one clear message, exit status 1, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from prompts import ENTER, UP, answer_prompts
from working_tree import copy_working_tree

COPIER = [sys.executable, "-m", "copier"]
GIT = ["git", "-c", "user.name=Founder", "-c", "user.email=founder@example.com"]
TIER_HELP = "Where it runs and what it costs"


def copier(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COPIER, *args], cwd=cwd, capture_output=True, text=True, check=False)


def git_status(project: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    ).stdout


def commit_all(repo: Path) -> None:
    subprocess.run(["git", "init", "--quiet"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "--all"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", "snapshot"], cwd=repo, check=True)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The working tree as a committed, tagged template: an update needs the commit it rendered
    from, which a dirty tree's temporary commit is not."""
    repo = tmp_path_factory.mktemp("template")
    copy_working_tree(repo)
    commit_all(repo)
    subprocess.run(["git", "tag", "v1.0.0"], cwd=repo, check=True)
    return repo


@pytest.fixture(scope="module")
def growth_project(template, tmp_path_factory) -> Path:
    """A growth project, committed, as a founder has it before an update."""
    project = tmp_path_factory.mktemp("founder") / "acme"
    made = copier(
        "copy", "--trust", "--defaults", "--data=project_name=acme", "--data=tier=growth",
        "--data=domain=acme.io", str(template), str(project),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    commit_all(project)
    return project


def assert_refused(run: subprocess.CompletedProcess[str], message: str) -> None:
    assert run.returncode == 1, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr, run.stderr


@pytest.mark.parametrize("lower", ["dev", "mvp"])
def test_a_downgrade_with_data_is_refused_in_one_message(growth_project, lower) -> None:
    run = copier("update", "--trust", "--defaults", f"--data=tier={lower}", cwd=growth_project)
    assert_refused(run, f"Moving down from the growth tier to {lower} is not supported")
    assert git_status(growth_project) == ""


def test_at_the_prompt_lower_tiers_are_shown_disabled_and_cannot_be_picked(growth_project) -> None:
    # Up twice from growth, then Enter: a menu that allowed it would land on dev.
    transcript = answer_prompts(
        [*COPIER, "update", "--trust"], growth_project, {TIER_HELP: UP + UP + ENTER}
    )
    assert transcript.status == 0, transcript.output[-3000:]
    menu = transcript.screen(TIER_HELP)
    for lower in ("dev", "mvp"):
        assert f"Moving down from the growth tier to {lower} is not supported" in menu
    answers = yaml.safe_load((growth_project / ".copier-answers.yml").read_text())
    assert answers["tier"] == "growth"
    assert (growth_project / "k8s" / "kustomization.yaml").is_file()
    assert git_status(growth_project) == ""


@pytest.mark.parametrize("tier", ["mvp", "growth"])
def test_leaving_dev_without_a_domain_is_refused_with_how_to_pass_one(tmp_path, tier) -> None:
    destination = tmp_path / "acme"
    run = copier("copy", "--trust", "--defaults", "--vcs-ref=HEAD", f"--data=tier={tier}",
                 str(ROOT), str(destination))  # fmt: skip
    assert_refused(run, "--data domain=<value>")
    assert not destination.exists()


def test_a_bad_answer_given_with_data_is_refused_in_one_message(tmp_path) -> None:
    destination = tmp_path / "acme"
    run = copier("copy", "--trust", "--defaults", "--vcs-ref=HEAD", "--data=project_name=1st",
                 str(ROOT), str(destination))  # fmt: skip
    assert_refused(run, "Start the name with a letter")
    assert not destination.exists()


def test_make_dev_serves_on_the_port_given(render) -> None:
    project = render()
    dry_run = subprocess.run(
        ["make", "-n", "dev", "PORT=8123"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    assert "--port 8123" in dry_run


def test_make_dev_serves_on_api_port_and_tells_the_app(render) -> None:
    """Issue 30: .env's API_PORT is `make dev`'s port, and the app hears the same number (PORT),
    so the links in its emails point at the port it serves on."""
    project = render()
    (project / ".env").write_text("SECRET_KEY=x\nAPI_PORT=8124\n")
    dry_run = subprocess.run(
        ["make", "-n", "dev"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    assert "PORT=8124 uv run uvicorn" in dry_run
    assert "--port 8124" in dry_run
    # The job worker mails the same links (`make worker PORT=...` as well).
    worker = subprocess.run(
        ["make", "-n", "worker"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    assert "PORT=8124 uv run python -m app.worker" in worker


def test_a_project_is_created_with_its_lock_files(copie) -> None:
    # pytest-copie runs copier's tasks, the lock task among them (the `render` fixture skips it).
    result = copie.copy(extra_answers={"frontend": True})
    assert result.exit_code == 0, result.exception
    project = result.project_dir
    for lock in ("backend/uv.lock", "frontend/e2e/uv.lock", "frontend/package-lock.json"):
        assert (project / lock).is_file(), f"{lock} is missing"
