"""Shared fixtures for the template's own tests (pytest-copie renders with unsafe=True)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from extensions.context import load_tiers
from tests.rendered import rendered_files
from tests.variants import VARIANTS, variant_answers, variant_id

ROOT = Path(__file__).parent.parent
TIERS = load_tiers()["tiers"]
__all__ = [
    "VARIANTS",
    "rendered_files",
    "variant_answers",
    "variant_id",
]  # for the tests, with the fixtures below

# The domain every mvp/growth render gets: the question has no default (a placeholder would ship).
DOMAIN = "acme.example.org"


@pytest.fixture
def render(copie) -> Callable[..., Path]:
    """Render the template with `answers` on top of the defaults; fail the test if it errors."""

    def _render(**answers: object) -> Path:
        result = copie.copy(extra_answers={"domain": DOMAIN, **answers})
        assert result.exit_code == 0, result.exception
        assert result.project_dir is not None
        return result.project_dir

    return _render
