"""Copier extension: the answers a project was last rendered with, so a question can compare.

While `copier update` asks its questions, the founder's project still holds the previous answers
file; `copier copy` and the temporary copies an update renders have none (``previous_answers``
is then empty). Copier's `_external_data` reads the same file but warns on every copy that it is
missing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from copier_template_extensions import ContextHook


def read_answers(path: Path) -> dict[str, Any]:
    """The answers stored in `path`, or {} when there is none (a first copy)."""
    try:
        answers = yaml.safe_load(path.read_text())
    except (FileNotFoundError, IsADirectoryError):
        return {}
    return answers if isinstance(answers, dict) else {}


class LazyAnswers(Mapping[str, Any]):
    """The destination's answers, read on first use: Copier builds a Jinja context for every
    path and file it renders, and `_copier_conf` renders the answers file's name each time it is
    read, so reading it up front would double the cost of a render (only `tier` uses it)."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self._context = context

    @cached_property
    def _answers(self) -> dict[str, Any]:
        conf = self._context["_copier_conf"]
        return read_answers(Path(conf["dst_path"]) / conf["answers_file"])

    def __getitem__(self, key: str) -> Any:
        return self._answers[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._answers)

    def __len__(self) -> int:
        return len(self._answers)


def committed_answers(project: str | Path) -> dict[str, Any]:
    """The answers in the project's last commit: after an update has rewritten the answers file,
    what the project was before it (copier only updates a clean work tree)."""
    shown = subprocess.run(
        ["git", "-C", str(project), "show", "HEAD:.copier-answers.yml"],
        capture_output=True,
        text=True,
        check=False,
    )
    answers = yaml.safe_load(shown.stdout) if shown.returncode == 0 else None
    return answers if isinstance(answers, dict) else {}


class PreviousAnswers(ContextHook):
    """Adds ``previous_answers`` (the destination's answers file, while questions are asked) and
    ``committed_answers`` (the answers of its last commit, for the message after an update)."""

    def hook(self, context: dict[str, Any]) -> None:
        context["previous_answers"] = LazyAnswers(context)
        context["committed_answers"] = committed_answers
