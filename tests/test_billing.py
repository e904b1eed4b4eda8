"""The billing question: with stripe, the billing domain, its routes, tables, settings and tests;
with none (the default), a project with no billing code, routes, tables, settings or words. (The
flows themselves run in the generated tests of the variants that answer billing=stripe.)"""

from __future__ import annotations

import ast
import re

import yaml
from conftest import ROOT, rendered_files

from tests.rendered import CODE_SUFFIXES, mentions

# What only a project with billing has.
BILLING_FILES = [
    "backend/app/billing/plans.toml",
    "backend/app/billing/stripe_api.py",
    "backend/app/billing/routes.py",
    "backend/app/billing/jobs.py",
    "backend/app/billing/entitlements.py",
    "backend/alembic/versions/0012_billing.py",
    "backend/tests/billing/test_webhook.py",
    "backend/tests/billing/test_checkout.py",
    "backend/tests/billing/test_limits.py",
]
BILLING_WORDS = re.compile(r"stripe|billing|plan_limit|subscription")


def test_the_question_offers_none_by_default_and_stripe() -> None:
    question = yaml.safe_load((ROOT / "copier.yml").read_text())["billing"]
    assert question["default"] == "none"
    assert sorted(question["choices"].values()) == ["none", "stripe"]


def test_a_project_without_billing_renders_no_billing_code(render) -> None:
    project = render(tier="growth", teams=True, sign_in_with=["github"])
    files = rendered_files(project)
    for name in BILLING_FILES:
        assert project / name not in files, f"{name} rendered without billing"
    assert mentions(project, BILLING_WORDS, CODE_SUFFIXES | {".md"}) == []


def test_billing_renders_the_domain_its_routes_settings_and_migration(render) -> None:
    project = render(tier="mvp", billing="stripe")
    for name in BILLING_FILES:
        assert (project / name).is_file(), f"{name} missing"
    routes = (project / "backend/app/routes.py").read_text()
    assert "billing_routes.router" in routes and "billing_routes.webhook_router" in routes
    pyproject = (project / "backend/pyproject.toml").read_text()
    assert pyproject.count('"app.billing"') == 2  # a domain, in the layers below items
    assert '"stripe>=' in pyproject
    env_example = (project / ".env.example").read_text()
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PRICE_PRO"):
        assert f"\n{name}=" in env_example
        assert f"  {name}:" in (project / "compose.prod.yaml").read_text()
    # Without providers there is no 0009 to join.
    assert not (project / "backend/alembic/versions/0013_join_billing.py").exists()
    for path in (project / "backend").rglob("*.py"):
        if ".venv" not in path.parts:
            ast.parse(path.read_text(), str(path))


def test_billing_follows_organisations_and_joins_the_providers_branch(render) -> None:
    project = render(tier="dev", teams=True, billing="stripe", sign_in_with=["google"])
    versions = project / "backend/alembic/versions"
    assert 'down_revision: str | None = "0008"' in (versions / "0012_billing.py").read_text()
    assert '("0009", "0012")' in (versions / "0013_join_billing.py").read_text()
    assert '("0010", "0012")' in (versions / "0014_organisations_pay.py").read_text()
    join = (versions / "0015_join_organisations_pay.py").read_text()
    assert '("0011", "0013", "0014")' in join
    assert "organisations.id" in (project / "backend/app/billing/models.py").read_text()
    assert "/orgs/{org_id}/billing" in (project / "backend/app/billing/routes.py").read_text()
