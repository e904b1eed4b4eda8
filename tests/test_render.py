"""Every variant renders completely: no template syntax, no .jinja suffix, no secret in answers."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import TIERS, VARIANTS, rendered_files, variant_answers, variant_id

from tests.rendered import leftover_template_syntax

SECRET_NAMES = ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD")


def env_values(project, name: str = ".env") -> dict[str, str]:
    lines = (project / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_variant_renders_without_leftover_template_syntax(render, variant) -> None:
    project = render(**variant_answers(variant))
    files = rendered_files(project)
    assert (project / "backend" / "app" / "main.py") in files
    for path in files:
        found = leftover_template_syntax(project, path)
        assert found is None, f"{path.relative_to(project)}: {found}"


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_every_tier_records_its_answers_and_only_asks_domain_from_mvp_up(render, tier) -> None:
    project = render(tier=tier)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["tier"] == tier
    assert ("domain" in answers) == (tier != "dev")


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_secrets_go_to_env_and_never_to_the_answers_file(render, tier) -> None:
    project = render(tier=tier)
    secrets = env_values(project)
    assert set(SECRET_NAMES) <= set(secrets)
    assert all(len(secrets[name]) >= 32 for name in SECRET_NAMES)
    assert secrets.keys() == env_values(project, ".env.example").keys(), ".env lacks a variable"
    answers_text = (project / ".copier-answers.yml").read_text()
    for name in SECRET_NAMES:
        assert secrets[name] not in answers_text, f"{name}'s value leaked into .copier-answers.yml"
    assert not re.search(r"secret|password", answers_text, re.IGNORECASE)
    assert ".env" in (project / ".gitignore").read_text().splitlines()
    assert (project / ".env.example").read_text().count("change-me") >= len(SECRET_NAMES)


def test_two_renders_with_the_same_answers_differ_only_in_secrets(render) -> None:
    first, second = render(tier="mvp", fresh=True), render(tier="mvp", fresh=True)
    names = [path.relative_to(first) for path in rendered_files(first)]
    assert names == [path.relative_to(second) for path in rendered_files(second)]
    differing = {
        str(name) for name in names if (first / name).read_bytes() != (second / name).read_bytes()
    }
    if differing == {".env", ".copier-answers.yml"}:
        # A dirty template tree (local development) gets a fresh temporary commit per render.
        first_answers, second_answers = (
            yaml.safe_load((project / ".copier-answers.yml").read_text())
            for project in (first, second)
        )
        assert first_answers.pop("_commit") != second_answers.pop("_commit")
        assert first_answers == second_answers
        differing.remove(".copier-answers.yml")
    assert differing == {".env"}
    first_env, second_env = env_values(first), env_values(second)
    assert first_env.keys() == second_env.keys()
    assert all(first_env[name] != second_env[name] for name in SECRET_NAMES)
