"""Releases: the release workflow tags what CHANGELOG.md says is released, and nothing else; the
tags this clone has agree with CHANGELOG.md."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT
from test_ci_matrix import run_step, step

WORKFLOW = ROOT / ".github/workflows/release.yml"
HEADING = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\S+)", re.MULTILINE)
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def versions_step() -> str:
    return step(WORKFLOW, "tag", lambda s: s.get("id") == "versions")["run"]


def repository(tmp_path: Path, changelog: str, commits: int = 2) -> Path:
    """A git repository of `commits` commits whose last holds `changelog` as CHANGELOG.md."""
    subprocess.run([*GIT, "init", "-q", str(tmp_path)], check=True)
    for number in range(commits):
        (tmp_path / "CHANGELOG.md").write_text(changelog if number == commits - 1 else "# x\n")
        subprocess.run([*GIT, "-C", str(tmp_path), "add", "-A"], check=True)
        subprocess.run([*GIT, "-C", str(tmp_path), "commit", "-qm", f"c{number}"], check=True)
    return tmp_path


def head_and_root(project: Path) -> tuple[str, str]:
    def rev(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(project), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    return rev("rev-parse", "HEAD"), rev("rev-list", "--max-parents=0", "HEAD")


RELEASED = (
    "# Changelog\n\n## [0.3.0] - 2026-12-06\n\n## [0.2.0] - 2026-12-01\n\n## [0.1.0] - 2026-11-21\n"
)


def test_a_released_newest_heading_tags_head_and_the_oldest_tags_the_first_commit(
    tmp_path,
) -> None:
    project = repository(tmp_path / "repo", RELEASED)
    head, root = head_and_root(project)
    tags = run_step(versions_step(), project, tmp_path)["tags"]
    assert tags.split() == [f"v0.3.0={head}", f"v0.1.0={root}"]


def test_nothing_is_tagged_while_the_newest_is_unreleased_or_already_tagged(tmp_path) -> None:
    unreleased = RELEASED.replace("# Changelog\n", "# Changelog\n\n## [0.4.0] - unreleased\n")
    project = repository(tmp_path / "repo", unreleased)
    # Work towards 0.4.0 is not 0.3.0: only the first commit gets its tag.
    _, root = head_and_root(project)
    assert run_step(versions_step(), project, tmp_path)["tags"] == f"v0.1.0={root}"
    subprocess.run([*GIT, "-C", str(project), "tag", "v0.1.0", root], check=True)
    assert run_step(versions_step(), project, tmp_path)["tags"] == ""
    released = repository(tmp_path / "released", RELEASED)
    for tag in ("v0.3.0", "v0.1.0"):
        subprocess.run([*GIT, "-C", str(released), "tag", tag], check=True)
    assert run_step(versions_step(), released, tmp_path)["tags"] == ""


def test_this_repositorys_tags_and_changelog_agree(tmp_path) -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = HEADING.findall(changelog)
    versions = [tuple(map(int, version.split("."))) for version, _ in headings]
    assert versions == sorted(versions, reverse=True), "CHANGELOG's headings must descend"
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}|unreleased", when) for _, when in headings)
    listed = subprocess.run(
        ["git", "tag", "--list", "v*"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    released = {f"v{version}" for version, when in headings if when != "unreleased"}
    assert set(listed) <= released, f"tags without a released CHANGELOG heading: {listed}"
    # What the workflow would tag now is a released CHANGELOG version.
    for pair in run_step(versions_step(), ROOT, tmp_path)["tags"].split():
        assert pair.split("=")[0] in released


@pytest.mark.parametrize("command", ["copy", "update"])
def test_the_docs_say_how_to_pin_a_release(command) -> None:
    docs = (ROOT / "docs" / "getting-started.md").read_text() + (
        ROOT / "docs" / "upgrading.md"
    ).read_text()
    assert re.search(rf"copier {command} [^\n]*--vcs-ref=v\d+\.\d+\.\d+", docs)
