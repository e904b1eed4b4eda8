"""Shared fixtures for the template's own tests (pytest-copie renders with unsafe=True)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from copier import run_copy

from extensions import env_file
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


def render_into(project: Path, answers: dict[str, object]) -> None:
    """Render the working tree (uncommitted edits included) into `project`. Copier's tasks are
    skipped but the .env one, run here as the task runs it: locking dependencies takes seconds
    and no test here reads a lock (the nox sessions render with the copier CLI, tasks and all)."""
    run_copy(
        str(ROOT), project, data={"domain": DOMAIN, **answers}, defaults=True, unsafe=True,
        skip_tasks=True, vcs_ref="HEAD", quiet=True,
    )  # fmt: skip
    env_file.complete(project)


@pytest.fixture(scope="session")
def rendered_once(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """The project rendered with `answers`, once per set of answers in a run (a render costs
    about two seconds); shared, so never to be changed: tests get copies from `render`."""
    renders: dict[str, Path] = {}

    def _render(**answers: object) -> Path:
        key = json.dumps(answers, sort_keys=True)
        if key not in renders:
            project = tmp_path_factory.mktemp("render") / "project"
            render_into(project, answers)
            renders[key] = project
        return renders[key]

    return _render


@pytest.fixture
def render(rendered_once, tmp_path: Path) -> Callable[..., Path]:
    """A project of this test's own, rendered with `answers` (a copy of the run's one render of
    those answers, so a test may change it); `fresh=True` renders anew, new secrets and all."""
    copies = iter(range(1_000))

    def _render(*, fresh: bool = False, **answers: object) -> Path:
        destination = tmp_path / f"project-{next(copies)}"
        if fresh:
            render_into(destination, answers)
            return destination
        shutil.copytree(rendered_once(**answers), destination, symlinks=True)
        return destination

    return _render
