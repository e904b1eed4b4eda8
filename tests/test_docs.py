"""The docs site's generated sections say what copier.yml and tiers.toml say (docs/hooks)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from extensions.context import load_tiers, monthly_estimate

ROOT = Path(__file__).parent.parent
spec = importlib.util.spec_from_file_location("generated", ROOT / "docs" / "hooks" / "generated.py")
assert spec is not None and spec.loader is not None
generated = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generated)


def test_every_question_is_on_the_questions_page_with_its_help() -> None:
    page = generated.questions_markdown()
    for name, question in generated.questions().items():
        assert f"### `{name}`" in page
        assert question["help"] in page
    assert "project_name" in generated.questions()
    assert not any(name.startswith("_") for name in generated.questions())


def test_validator_messages_are_listed_as_refusals() -> None:
    page = generated.questions_markdown()
    assert "- **refused with:** Moving down from the mvp tier to dev is not supported" in page
    assert '- **refused with:** Give an email address such as "ada@example.com".' in page


def test_every_tier_shows_its_monthly_estimate_and_cost_lines() -> None:
    page = generated.tiers_markdown()
    for name, profile in load_tiers()["tiers"].items():
        assert f"### `{name}`: about ${monthly_estimate(name)}/month" in page
        for line in profile["costs"].values():
            assert f"| {line['item']} | {line['size']} | {line['usd']} |" in page


def test_getting_started_is_the_readmes_two_commands() -> None:
    section = generated.two_commands_markdown()
    assert "uvx nox" in section
    assert "copier copy --trust" in section


def test_a_page_asking_for_an_unknown_section_fails_the_build() -> None:
    with pytest.raises(ValueError, match="Unknown generated section 'nope'"):
        generated.on_page_markdown("intro\n<!-- generated: nope -->\n")
