"""The upgrade pull request (issue 35), as the nox `update` session checks it.

The template gets one more release: a CHANGELOG section, a README line that merges cleanly, and a
new first line of backend/app/main.py, which the founder changed too (a conflict). The project's
own `make template-update` (what its weekly workflow runs before `gh pr create`) must prepare the
branch `template-update` (the release applied, the founder's edits kept, the conflict committed
for review, main untouched) and the pull request's body (from -> to version, that CHANGELOG
section and no older one, the conflict, the failed checks marked). Run again on that branch, now
current, it must change nothing and leave no body for the workflow to open a pull request with.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import nox

from tests.variant_checks.common import NOT_THE_NOX_VENV

BRANCH = "template-update"
CONFLICTED = "backend/app/main.py"
FOUNDER_FIRST_LINE = '"""Founder: the app, wired the way our launch needs it."""\n'
RELEASE_FIRST_LINE = '"""The FastAPI application: middleware, handlers and routers, assembled."""\n'
RELEASE_NOTE = "The upgrade pull request's test release: this entry must reach its body."
README_LINE = "\nThis line arrived with the upgrade pull request.\n"
IDENTITY = {
    name: value
    for role in ("AUTHOR", "COMMITTER")
    for name, value in ((f"GIT_{role}_NAME", "Founder"), (f"GIT_{role}_EMAIL", "f@example.com"))
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True, capture_output=True, text=True, env={**os.environ, **IDENTITY},
    ).stdout  # fmt: skip


def replace_first_line(path: Path, line: str) -> None:
    path.write_text(line + path.read_text().split("\n", 1)[1])


def next_release(session: nox.Session, template: Path) -> tuple[str, str]:
    """Tag a minor release above the template's newest CHANGELOG version; its tag, and the
    heading of that newest version (the project's, which the body must not repeat)."""
    changelog = template / "CHANGELOG.md"
    text = changelog.read_text()
    newest = re.search(r"^## \[((\d+)\.(\d+)\.\d+)\]", text, re.M)
    if newest is None:
        session.error(f"{changelog} has no release heading")
    version = f"{newest.group(2)}.{int(newest.group(3)) + 1}.0"
    section = f"## [{version}] - 2026-12-07\n\n### Changed\n\n- {RELEASE_NOTE}\n\n"
    changelog.write_text(text[: newest.start()] + section + text[newest.start() :])
    with (template / "template" / "README.md.jinja").open("a") as readme:
        readme.write(README_LINE)
    (main,) = (template / "template" / "backend" / "app").glob("main.py*")
    replace_first_line(main, RELEASE_FIRST_LINE)
    git(template, "add", "--all")
    git(template, "commit", "--quiet", f"--message=Release {version}")
    git(template, "tag", f"v{version}")
    return f"v{version}", newest.group(0)


def template_update(session: nox.Session, project: Path) -> str:
    """The project's `make template-update`, as its workflow runs it; what it printed."""
    with session.chdir(project):
        return session.run(
            "make", "template-update", external=True, silent=True,
            env={**NOT_THE_NOX_VENV, **IDENTITY},
        )  # fmt: skip


def recorded_release(project: Path) -> str:
    found = re.search(r"^_commit: (\S+)$", (project / ".copier-answers.yml").read_text(), re.M)
    return found.group(1) if found else ""


def run(session: nox.Session, template: Path, project: Path, kept: dict[str, str]) -> None:
    """`kept`: file -> text the founder wrote there, which the prepared branch must still hold."""
    old = recorded_release(project)
    replace_first_line(project / CONFLICTED, FOUNDER_FIRST_LINE)
    git(project, "commit", "--quiet", "--all", f"--message=Founder: {CONFLICTED} docstring")
    main = git(project, "rev-parse", "HEAD").strip()
    new, older_heading = next_release(session, template)
    body_file = project / git(project, "rev-parse", "--git-path", "template-update.md").strip()

    session.log(f"make template-update: {old} -> {new} over the founder's edits")
    printed = template_update(session, project)
    problems = []
    if git(project, "branch", "--show-current").strip() != BRANCH:
        problems.append(f"the project is not on the branch {BRANCH}")
    if git(project, "rev-parse", "main").strip() != main:
        problems.append("main moved: the update belongs on its own branch")
    if git(project, "rev-parse", "HEAD~1").strip() != main:
        problems.append(f"{BRANCH} is not one commit on top of main")
    if written := git(project, "status", "--porcelain", "--untracked-files=all").strip():
        problems.append(f"left uncommitted: {written}")
    if recorded_release(project) != new:
        problems.append(f".copier-answers.yml records {recorded_release(project)}, not {new}")
    if README_LINE.strip() not in (project / "README.md").read_text():
        problems.append("the release's README line is missing (the update was not applied)")
    for name, text in kept.items():
        if text not in (project / name).read_text():
            problems.append(f"the founder's edit to {name} is gone")
    conflicted = (project / CONFLICTED).read_text()
    if "<<<<<<< " not in conflicted or FOUNDER_FIRST_LINE not in conflicted:
        problems.append(f"{CONFLICTED} does not hold both sides of the conflict")
    body = body_file.read_text() if body_file.is_file() else ""
    expected_in_body = {
        "the versions": f"{old} -> {new}",
        "the release's CHANGELOG entry": RELEASE_NOTE,
        "the conflict": f"- `{CONFLICTED}`",
        "the failed lint (conflict markers)": "- `make lint`: **failed**",
        "the failure marked": "### Checks: **FAILED**",
    }
    problems += [
        f"the PR body lacks {what}: {text!r}"
        for what, text in expected_in_body.items()
        if text not in body
    ]
    if older_heading in body:
        problems.append(f"the PR body repeats CHANGELOG sections up to {old}: {older_heading}")
    if problems:
        session.error(
            "make template-update:\n  " + "\n  ".join(problems) + f"\n{printed[-3000:]}\n{body}"
        )
    session.log(f"{BRANCH} prepared and its PR body written:\n{body[:1500]}")

    # The branch is now current: nothing to apply, and no body left for the workflow's last step.
    branch_head = git(project, "rev-parse", "HEAD").strip()
    printed = template_update(session, project)
    if "Already on the template's newest release" not in printed:
        session.error(f"make template-update on a current project did not say so:\n{printed}")
    if body_file.exists() or git(project, "rev-parse", "HEAD").strip() != branch_head:
        session.error("make template-update on a current project changed something")
    git(project, "switch", "--quiet", "main")
