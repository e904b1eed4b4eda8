"""Copier extension: the answers a project was last rendered with, so a question can compare.

While `copier update` asks its questions, the founder's project still holds the previous answers
file; `copier copy` and the temporary copies an update renders have none (``previous_answers``
is then empty). Copier's `_external_data` reads the same file but warns on every copy that it is
missing.
"""

from __future__ import annotations

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


class PreviousAnswers(ContextHook):
    """Adds ``previous_answers``: the destination's answers file, while questions are asked."""

    def hook(self, context: dict[str, Any]) -> None:
        conf = context["_copier_conf"]
        context["previous_answers"] = read_answers(Path(conf["dst_path"]) / conf["answers_file"])
