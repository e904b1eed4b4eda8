"""Keep the founder's .env complete from .env.example after every `copier copy` and `update`.

.env holds secrets, so copier never renders or merges it (`_skip_if_exists`). Instead a task runs
this file in the project: every variable of .env.example that .env lacks is appended, following the
markers .env.example explains at its top:

- a variable whose comment says ``(generated)`` gets a fresh random value;
- one whose comment says ``(set by ...)`` is left empty for that script to write;
- any other empty one is the founder's to fill in (``values_to_fill`` lists them, with their
  comment, for the message printed after copy and update);
- any other value is a default and is copied.

A variable already in .env is never touched, so the task is idempotent: copier also runs it in the
temporary copies an update renders.

    python extensions/env_file.py [PROJECT_DIR]
"""

from __future__ import annotations

import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook

GENERATED = "(generated)"
SET_BY_A_SCRIPT = "(set by "
ASSIGNMENT = re.compile(r"^(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    comment: str  # the comment lines just above it, without their "#"

    @property
    def generated(self) -> bool:
        return GENERATED in self.comment

    @property
    def founders_to_set(self) -> bool:
        return not self.default and not self.generated and SET_BY_A_SCRIPT not in self.comment


def example_variables(text: str) -> list[Variable]:
    """The variables .env.example sets (commented-out `# NAME=...` lines are optional: skipped)."""
    variables, comment, in_heading = [], [], False
    for line in text.splitlines():
        note = line.lstrip("#").strip()
        # A section heading runs from "# ---" to a line ending "---", over several lines maybe.
        if line.startswith("#") and (in_heading or note.startswith("---")):
            in_heading = not note.endswith("---")
            comment = []
        # An optional `# NAME=value` line belongs to no variable below it.
        elif line.startswith("#") and not ASSIGNMENT.match(note):
            comment.append(note)
        elif match := ASSIGNMENT.match(line.strip()):
            variables.append(Variable(match["name"], match["value"], " ".join(comment).strip()))
            comment = []
        else:
            comment = []
    return variables


def assigned(text: str) -> dict[str, str]:
    """NAME -> value for every assignment in a .env file's text."""
    found = (ASSIGNMENT.match(line.strip()) for line in text.splitlines())
    return {match["name"]: match["value"] for match in found if match}


def complete(project: Path) -> list[str]:
    """Append to `project`/.env what .env.example has and it lacks; return the names added."""
    example, env = project / ".env.example", project / ".env"
    if not example.is_file():
        return []
    current = env.read_text() if env.is_file() else ""
    have = assigned(current)
    lines = []
    for variable in example_variables(example.read_text()):
        if variable.name in have:
            continue
        value = secrets.token_urlsafe(32) if variable.generated else variable.default
        lines.append(f"{variable.name}={value}")
    if lines:
        header = "" if current else "# Written by NeoForge from .env.example; never committed.\n"
        separator = "" if not current or current.endswith("\n") else "\n"
        env.write_text(f"{current}{separator}{header}" + "\n".join(lines) + "\n")
        env.chmod(0o600)
    return [line.split("=", 1)[0] for line in lines]


def values_to_fill(project: str | Path) -> list[Variable]:
    """The variables of .env.example still empty in `project`/.env: the founder's to set."""
    project = Path(project)
    example, env = project / ".env.example", project / ".env"
    if not example.is_file():
        return []
    have = assigned(env.read_text()) if env.is_file() else {}
    return [
        variable
        for variable in example_variables(example.read_text())
        if variable.founders_to_set and not have.get(variable.name)
    ]


def to_fill_message(project: str | Path) -> str:
    """The lines printed after copy and update: what .env still needs from the founder."""
    variables = values_to_fill(project)
    if not variables:
        return ""
    lines = [f"Fill in {len(variables)} empty value(s) in .env (see .env.example):"]
    lines += [f"  {variable.name}: {variable.comment}" for variable in variables]
    return "\n".join(lines) + "\n"


class EnvFile(ContextHook):
    """Adds ``env_to_fill(dst_path)`` for the messages printed after copy and update."""

    def hook(self, context: dict[str, Any]) -> None:
        context["env_to_fill"] = to_fill_message


if __name__ == "__main__":
    complete(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
