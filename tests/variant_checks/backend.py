"""The generated backend's own lint and tests, on PostgreSQL + Redis and on the SQLite default."""

from __future__ import annotations

import nox

from tests.variant_checks.common import Variant, fresh_database, run_in_project


def test_on_services(session: nox.Session, variant: Variant) -> None:
    """The project's own `make test` on a fresh PostgreSQL database and the variant's Redis DB."""
    run_in_project(
        session,
        variant,
        "make",
        "test",
        TEST_DATABASE_URL=fresh_database(session, variant.database),
        TEST_REDIS_URL=variant.redis,
    )


def locked_install(session: nox.Session, variant: Variant) -> None:
    """The lock files the project was created with install as they are (no re-resolution)."""
    for directory in ("backend", "frontend/e2e", "infra"):
        if (variant.project / directory / "pyproject.toml").is_file():
            run_in_project(session, variant, "uv", "sync", "--locked", f"--directory={directory}")


def new_migration_is_lint_clean(session: nox.Session, variant: Variant) -> None:
    """A founder's first schema change: a new column, `alembic revision --autogenerate`, then
    `make lint` passes on the written revision untouched (alembic.ini's ruff hooks)."""
    models = variant.project / "backend" / "app" / "items" / "models.py"
    original = models.read_text()
    anchor = "class Item(ItemBase, table=True):\n"
    if anchor not in original:
        session.error(f"{models} no longer has {anchor.strip()!r}: update this check")
    column = "    launch_note: str | None = Field(default=None, max_length=280)\n"
    database = (variant.project / "backend" / "autogenerate.db").resolve()
    url = f"sqlite+aiosqlite:///{database}"
    versions = variant.project / "backend" / "alembic" / "versions"
    before = set(versions.iterdir())
    try:
        run_in_project(session, variant, "make", "migrate", DATABASE_URL=url)
        models.write_text(original.replace(anchor, anchor + column, 1))
        run_in_project(
            session, variant, "uv", "run", "--directory=backend", "alembic", "revision",
            "--autogenerate", "-m", "add the launch note", DATABASE_URL=url,
        )  # fmt: skip
        written = set(versions.iterdir()) - before
        if len(written) != 1:
            session.error(f"expected one new revision, found {sorted(map(str, written))}")
        run_in_project(session, variant, "make", "lint")
    finally:
        models.write_text(original)
        database.unlink(missing_ok=True)
        for path in set(versions.iterdir()) - before:
            path.unlink()


def run(session: nox.Session, variant: Variant) -> None:
    locked_install(session, variant)
    run_in_project(session, variant, "make", "lint")
    if "migration" in variant.once:
        new_migration_is_lint_clean(session, variant)
    if "pgbouncer" not in variant.once:
        # That variant's suite runs once, through PgBouncer as growth's API does (infra.py).
        test_on_services(session, variant)
