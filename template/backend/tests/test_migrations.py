"""The migrations build exactly the schema the models describe, and every SQL migration the
installed procrastinate ships (the job queue's schema)."""

from importlib.metadata import version
from importlib.resources import files

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from app.core.config import BACKEND_DIR, Settings
from app.core.db import create_engine, is_app_table

pytestmark = pytest.mark.anyio


async def test_models_and_migrations_agree(settings: Settings) -> None:
    engine = create_engine(settings, pooled=False)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "include_name": is_app_table}
                    ),
                    SQLModel.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert differences == []


def procrastinate_sql_applied() -> tuple[str, set[str]]:
    """What the Alembic revisions apply of procrastinate's SQL migrations: every name up to 0002's
    `procrastinate_baseline`, and the names later revisions list in `procrastinate_migrations`."""
    scripts = ScriptDirectory.from_config(Config(str(BACKEND_DIR / "alembic.ini")))
    modules = [revision.module for revision in scripts.walk_revisions()]
    baseline = next(
        module.procrastinate_baseline
        for module in modules
        if hasattr(module, "procrastinate_baseline")
    )
    listed = {
        name for module in modules for name in getattr(module, "procrastinate_migrations", ())
    }
    return baseline, listed


def unapplied(shipped: list[str], baseline: str, listed: set[str]) -> list[str]:
    return [name for name in shipped if name > baseline and name not in listed]


def test_every_sql_migration_procrastinate_ships_has_a_revision() -> None:
    """An upgrade of procrastinate that ships SQL migrations passes on a fresh database but stops
    the workers of one created before it: a revision must apply them (0002's docstring says how)."""
    shipped = sorted(
        path.name
        for path in files("procrastinate.sql.migrations").iterdir()
        if path.name.endswith(".sql")
    )
    baseline, listed = procrastinate_sql_applied()
    missing = unapplied(shipped, baseline, listed)
    assert not missing, (
        f"procrastinate {version('procrastinate')} ships SQL migrations that no Alembic revision "
        f"applies: {missing}; add a revision with procrastinate_migrations = {missing} "
        "(see alembic/versions/0002_job_queue.py)"
    )


def test_a_new_procrastinate_migration_is_reported_until_a_revision_lists_it() -> None:
    baseline, listed = procrastinate_sql_applied()
    newer = "99.00.00_01_pre_from_a_later_release.sql"
    assert unapplied([baseline, newer], baseline, listed) == [newer]
    assert unapplied([baseline, newer], baseline, {*listed, newer}) == []
