"""Copier extension: the GitHub repository the destination is a clone of, for a default answer.

A founder who creates the repository on GitHub first and copies into its clone, and every
`copier update` of a pushed project, gets `github_repository` right without typing it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook

# git@github.com:owner/name.git, ssh://git@github.com/owner/name, https://github.com/owner/name.git
GITHUB_REMOTE = re.compile(r"github\.com[:/](?P<repository>[^/\s]+/[^/\s]+?)(?:\.git)?/?$")


def github_repository_of(destination: str | Path) -> str:
    """`owner/name` of the destination's `origin` remote on GitHub, or "" when it has none."""
    if not Path(destination).is_dir():
        return ""
    remote = subprocess.run(
        ["git", "-C", str(destination), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = GITHUB_REMOTE.search(remote.stdout.strip()) if remote.returncode == 0 else None
    return found["repository"] if found else ""


def default_github_repository(destination: str | Path, author_name: str, project_slug: str) -> str:
    """The destination's GitHub remote; else a guess: the author's name as an owner, the slug."""
    owner = re.sub(r"[^a-z0-9]+", "-", author_name.lower())[:39].strip("-")
    return github_repository_of(destination) or f"{owner or 'owner'}/{project_slug}"


class GitRemote(ContextHook):
    """Adds ``default_github_repository`` for the question's default (copier.yml)."""

    def hook(self, context: dict[str, Any]) -> None:
        context["default_github_repository"] = default_github_repository
