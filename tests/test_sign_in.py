"""The sign_in_with question: its help says what to register at each provider; each chosen provider
renders its settings, .env entries and tests, and a project that chooses none renders no sign-in
code at all. (The flows themselves run in the variant(dev, frontend, sign-in) nox session.)"""

from __future__ import annotations

import ast
import re

import pytest
import yaml
from conftest import ROOT, rendered_files

from tests.rendered import CODE_SUFFIXES, mentions

PROVIDERS = ["google", "github", "oidc"]
# What only a project with sign-in providers has.
SIGN_IN_FILES = [
    "backend/app/accounts/providers.py",
    "backend/app/accounts/provider_routes.py",
    "backend/alembic/versions/0005_sign_in_providers.py",
    "backend/tests/oidc/provider.mjs",
    "backend/tests/oidc/package-lock.json",
    "backend/tests/accounts/test_providers.py",
    "frontend/src/components/oauth-buttons.js",
    "frontend/src/components/oauth-callback.js",
]
# OAuth2 itself is in every project (the password sign-in is OAuth2's password form).
SIGN_IN_WORDS = re.compile(r"oauth(?!2)|authlib|sign_in_with|oidc|sign-in-providers")


def test_the_question_points_to_where_to_register_at_each_provider() -> None:
    question = yaml.safe_load((ROOT / "copier.yml").read_text())["sign_in_with"]
    assert question["multiselect"] is True
    assert question["default"] == []
    assert sorted(question["choices"].values()) == sorted(PROVIDERS)
    # The prompt has room for one line; the steps are in .env.example and on the Questions page.
    assert ".env.example" in question["help"]
    page = (ROOT / "docs" / "questions.md").read_text()
    assert "PUBLIC_URL/auth/callback/<provider>" in page
    for where in ("Google Cloud console", "OAuth Apps", "issuer URL"):
        assert where in page


def test_a_project_without_providers_renders_no_sign_in_code(render) -> None:
    project = render(tier="dev")
    files = rendered_files(project)
    for name in SIGN_IN_FILES:
        assert project / name not in files, f"{name} rendered without a provider"
    assert mentions(project, SIGN_IN_WORDS, CODE_SUFFIXES) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_one_provider_renders_its_settings_only(render, provider: str) -> None:
    project = render(tier="mvp", sign_in_with=[provider])
    for name in SIGN_IN_FILES:
        assert (project / name).is_file(), f"{name} missing"
    env_example = (project / ".env.example").read_text()
    config = (project / "backend/app/core/config.py").read_text()
    for other in PROVIDERS:
        chosen = other == provider
        assert (f"OAUTH__{other.upper()}__CLIENT_ID=" in env_example) == chosen
        assert (f"    {other}: " in config) == chosen
    assert f"https://acme.example.org/auth/callback/{provider}" in env_example
    secret = (project / "backend/tests/accounts").glob("test_*.py")
    names = {path.name for path in secret}
    assert ("test_github.py" in names) == (provider == "github")
    assert ("test_id_tokens.py" in names) == (provider != "github")
    # Every Python file parses: the Jinja conditions left no half-written function behind.
    for path in (project / "backend").rglob("*.py"):
        if ".venv" not in path.parts:
            ast.parse(path.read_text(), str(path))


def test_growth_lists_the_provider_secrets_in_the_example_secret(render) -> None:
    project = render(tier="growth", sign_in_with=["github", "oidc"])
    secret = (project / "k8s/secret.example.yaml").read_text()
    documents = list(yaml.safe_load_all(secret))
    keys = documents[0]["stringData"]
    assert {"OAUTH__GITHUB__CLIENT_SECRET", "OAUTH__OIDC__ISSUER"} <= set(keys)
    assert "OAUTH__GOOGLE__CLIENT_ID" not in keys


def test_an_unknown_provider_is_refused(copie) -> None:
    result = copie.copy(extra_answers={"sign_in_with": ["facebook"]})
    assert result.exit_code != 0
    assert "facebook" in str(result.exception)
