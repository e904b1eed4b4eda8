"""What every variant check shares: the rendered variant and the local services."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import nox

# The local services the generated tests run against (CI points these at its service containers).
POSTGRES_URL = os.environ.get("NEOFORGE_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("NEOFORGE_REDIS_URL", "redis://127.0.0.1:6379")
NOT_THE_NOX_VENV = {"VIRTUAL_ENV": None, "UV_PROJECT_ENVIRONMENT": None, "UV_PYTHON": None}


@dataclass(frozen=True)
class Variant:
    tier: str
    frontend: bool
    project: Path
    slug: str
    index: int  # 1-based position in the variant table: its Redis database number
    # Checks run on this variant only (tiers.toml's `once`): "guide", "lighthouse", "make_dev",
    # "migration", "pgbouncer".
    once: frozenset[str] = frozenset()
    # False where other variants' browser runs already cover this frontend (tiers.toml).
    browser: bool = True
    # The session's own redis-server (infra.private_redis), else the shared one's database `index`.
    redis_url: str | None = None

    @property
    def redis(self) -> str:
        return self.redis_url or f"{REDIS_URL}/{self.index}"

    @property
    def database(self) -> str:
        return self.slug.replace("-", "_")


def fresh_database(session: nox.Session, name: str) -> str:
    """Drop and create database `name` on the local PostgreSQL; return its asyncpg URL."""
    admin = f"{POSTGRES_URL}/postgres"
    session.run(
        "psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', external=True
    )
    session.run("psql", admin, "-qc", f'CREATE DATABASE "{name}"', external=True)
    return f"{POSTGRES_URL.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"


def run_in_project(session: nox.Session, variant: Variant, *args: str, **env: str) -> None:
    """Run one of the generated project's own commands, in the project, as a founder's shell would.

    The nox session's virtualenv variables are removed: uv must use the project's .venv and Python.
    """
    with session.chdir(variant.project):
        session.run(*args, external=True, env={**NOT_THE_NOX_VENV, **env})


def free_port() -> int:
    """A local TCP port nothing listens on now, for a server a check starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def npm_package(session: nox.Session, name: str, version: str) -> Path:
    """npm's `name` at `version`, installed once into the session's tmp dir (never a project):
    the folder that holds its node_modules."""
    home = Path(session.create_tmp()).resolve() / name
    if not (home / "node_modules" / name).is_dir():
        home.mkdir(exist_ok=True)
        install = ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(home)]
        session.run(*install, f"{name}@{version}", external=True)
    return home
