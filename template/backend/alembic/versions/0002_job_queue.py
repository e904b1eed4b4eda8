"""The job queue's tables and functions (procrastinate's schema), on PostgreSQL only: with SQLite
jobs run in memory.

The schema is built from procrastinate's own SQL migrations, from its first up to
`procrastinate_baseline`, not from the schema of whatever release is installed: a database created
today and one created before an upgrade then differ by exactly the migrations a later revision
applies. When an upgrade of procrastinate ships new files in procrastinate/sql/migrations/ (its
release notes say so; tests/test_migrations.py fails and names them), add a revision that sets
`procrastinate_migrations = [...]` to those names and runs them as `run_procrastinate_sql` does.
Files named `*_pre_*` go in before the new code deploys, `*_post_*` after it runs everywhere (a
second revision, released with the next deploy).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence
from importlib.resources import files

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The newest of procrastinate's SQL migrations this revision applies (procrastinate 3.4 to 3.10).
procrastinate_baseline = "03.04.00_50_post_add_retry_failed_job_procedure.sql"


def run_procrastinate_sql(names: list[str]) -> None:
    """procrastinate's migration scripts `names`, in order, each in a transaction of its own: a
    script may use an enum value an earlier one added, which PostgreSQL allows only once that is
    committed. A script of many statements runs with asyncpg only outside a prepared statement:
    on the driver's connection."""
    with op.get_context().autocommit_block():
        for name in names:
            script = files("procrastinate.sql.migrations").joinpath(name).read_text()
            op.get_bind().connection.dbapi_connection.run_async(
                lambda driver, script=script: driver.execute(script)
            )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    shipped = sorted(
        path.name
        for path in files("procrastinate.sql.migrations").iterdir()
        if path.name.endswith(".sql")
    )
    # The names sort in release order.
    run_procrastinate_sql([name for name in shipped if name <= procrastinate_baseline])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Everything procrastinate created is named procrastinate_*: its tables (with their triggers
    # and indexes), then its functions and types.
    op.execute(
        "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
        "procrastinate_jobs, procrastinate_workers CASCADE"
    )
    op.execute(
        """
        DO $$
        DECLARE routine regprocedure;
        BEGIN
            FOR routine IN
                SELECT oid::regprocedure FROM pg_proc WHERE proname LIKE 'procrastinate\\_%'
            LOOP
                EXECUTE 'DROP FUNCTION ' || routine || ' CASCADE';
            END LOOP;
        END $$;
        """
    )
    op.execute(
        "DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type, "
        "procrastinate_job_status CASCADE"
    )
