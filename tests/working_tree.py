"""The template as it is now (tracked and new files, uncommitted edits included, nothing git
ignores), copied into a folder: what a test commits and tags as a release, or times copier on.
Imported by the nox sessions (`tests.working_tree`) and by the pytest tests (`working_tree`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).parent.parent


def copy_working_tree(dest: Path) -> None:
    """Copy every file of the working tree into `dest` (created if needed), keeping modes."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # a deleted file is still listed until it is committed
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
