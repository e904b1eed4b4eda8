"""Create or refresh the project's lock files after every `copier copy` and `copier update`.

A project is created with `backend/uv.lock` (and `frontend/e2e/uv.lock` with the frontend), so the
founder's first commit pins what every later `make` and CI run installs, and `uv sync --locked`
holds. After an update that changed a pyproject.toml, `uv lock` re-resolves only what changed and
keeps every other pin. Without uv on PATH the task says how to lock later instead of failing.

    python extensions/lock_dependencies.py [PROJECT_DIR]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PROJECTS = ("backend", "frontend/e2e")


def lock(project: Path) -> int:
    uv = shutil.which("uv")
    for directory in (project / name for name in PROJECTS):
        if not (directory / "pyproject.toml").is_file():
            continue
        if uv is None:
            print(f"uv is not installed: run `uv lock` in {directory} to pin the dependencies")
            continue
        locked = subprocess.run([uv, "lock", "--quiet"], cwd=directory, check=False)
        if locked.returncode != 0:
            return locked.returncode
    return 0


if __name__ == "__main__":
    sys.exit(lock(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
