"""The teams question: with it, the orgs domain, its routes, tables and tests; without it, a
project with no organisation code, routes or tables at all. (The flows themselves run in the
generated tests of the variants that answer teams=yes.)"""

from __future__ import annotations

import ast
import re

import yaml
from conftest import ROOT, rendered_files

from tests.rendered import CODE_SUFFIXES, mentions

# What only a project with teams has.
TEAMS_FILES = [
    "backend/app/orgs/models.py",
    "backend/app/orgs/routes.py",
    "backend/app/orgs/deps.py",
    "backend/app/orgs/jobs.py",
    "backend/app/orgs/email_templates/invitation.txt",
    "backend/app/admin/org_routes.py",
    "backend/alembic/versions/0010_organisations.py",
    "backend/tests/orgs/test_tenants.py",
    "backend/tests/orgs/test_invitations.py",
]
TEAMS_WORDS = re.compile(r"organi[sz]ation|org_id|invitation|\borgs\b|\bteams\b")


def test_the_question_is_a_yes_no_that_defaults_to_no() -> None:
    question = yaml.safe_load((ROOT / "copier.yml").read_text())["teams"]
    assert (question["type"], question["default"]) == ("bool", False)


def test_a_project_without_teams_renders_no_organisation_code(render) -> None:
    project = render(tier="mvp", sign_in_with=["github"])
    files = rendered_files(project)
    for name in TEAMS_FILES:
        assert project / name not in files, f"{name} rendered without teams"
    assert mentions(project, TEAMS_WORDS, CODE_SUFFIXES | {".md"}) == []


def test_teams_renders_the_domain_its_routes_and_its_migration(render) -> None:
    project = render(tier="mvp", teams=True)
    for name in TEAMS_FILES:
        assert (project / name).is_file(), f"{name} missing"
    routes = (project / "backend/app/routes.py").read_text()
    assert "orgs_routes.router" in routes
    assert "items_routes.org_router" in routes
    pyproject = (project / "backend/pyproject.toml").read_text()
    assert pyproject.count('"app.orgs"') == 2  # a domain, in the layers below items and admin
    # Without providers there is no 0009 to join.
    assert not (project / "backend/alembic/versions/0011_join_organisations.py").exists()
    for path in (project / "backend").rglob("*.py"):
        if ".venv" not in path.parts:
            ast.parse(path.read_text(), str(path))


def test_teams_with_providers_joins_the_two_migration_branches(render) -> None:
    project = render(tier="dev", teams=True, sign_in_with=["google"])
    join = project / "backend/alembic/versions/0011_join_organisations.py"
    assert '("0009", "0010")' in join.read_text()
