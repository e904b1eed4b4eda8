"""Shared fixtures for the template's own tests (pytest-copie renders with unsafe=True)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "extensions"))

from context import load_tiers  # noqa: E402  (extensions/ is not a package)

TIERS = load_tiers()["tiers"]
VARIANTS = load_tiers()["variants"]

# The domain every mvp/growth render gets: the question has no default (a placeholder would ship).
DOMAIN = "acme.example.org"
# Directories a generated project may grow locally that are not template output.
NOT_RENDERED = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}


def rendered_files(project: Path) -> list[Path]:
    """Every file the template wrote into `project`."""
    return sorted(
        path
        for path in project.rglob("*")
        if path.is_file() and not NOT_RENDERED.intersection(path.relative_to(project).parts)
    )


def variant_id(variant: dict) -> str:
    sign_in = "-sign-in" if variant.get("sign_in_with") else ""
    return f"{variant['tier']}-{'frontend' if variant['frontend'] else 'api-only'}{sign_in}"


def variant_answers(variant: dict) -> dict[str, object]:
    """The answers that render `variant` (sign_in_with only where the variant sets it)."""
    answers = {"tier": variant["tier"], "frontend": variant["frontend"]}
    if variant.get("sign_in_with"):
        answers["sign_in_with"] = list(variant["sign_in_with"])
    return answers


@pytest.fixture
def render(copie) -> Callable[..., Path]:
    """Render the template with `answers` on top of the defaults; fail the test if it errors."""

    def _render(**answers: object) -> Path:
        result = copie.copy(extra_answers={"domain": DOMAIN, **answers})
        assert result.exit_code == 0, result.exception
        assert result.project_dir is not None
        return result.project_dir

    return _render
