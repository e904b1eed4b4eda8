"""Create or refresh the project's lock files after every `copier copy` and `copier update`.

A project is created with `backend/uv.lock` (and `frontend/e2e/uv.lock` with the frontend,
`infra/uv.lock` on mvp and growth), so the founder's first commit pins what every later `make`
and CI run installs, and `uv sync --locked` holds. After an update that changed a pyproject.toml,
`uv lock` re-resolves only what changed and keeps every other pin. Without uv (or offline) the
task says how to lock later instead of failing.

    python extensions/lock_dependencies.py [PROJECT_DIR]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECTS = ("backend", "frontend/e2e", "infra")
# The project's own .python-version picks the interpreter, not the shell copier runs in.
CALLERS_ENVIRONMENT = ("UV_PYTHON", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")


def lock(project: Path) -> None:
    """`uv lock` in each Python project of `project`; a failure is reported, never fatal: the
    files are rendered by now, and `uv lock` can be run again by hand."""
    env = {name: value for name, value in os.environ.items() if name not in CALLERS_ENVIRONMENT}
    for directory in (project / name for name in PROJECTS):
        if not (directory / "pyproject.toml").is_file():
            continue
        try:
            locked = subprocess.run(
                ["uv", "lock", "--quiet"], cwd=directory, env=env, capture_output=True, text=True
            )
        except FileNotFoundError:
            reason = "uv is not installed"
        else:
            if locked.returncode == 0:
                continue
            reason = (locked.stderr.strip().splitlines() or ["uv lock failed"])[-1][:300]
        print(f"Could not lock {directory} ({reason}): run `uv lock` there and commit uv.lock")


if __name__ == "__main__":
    lock(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
