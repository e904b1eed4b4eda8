"""The job queue's tables and functions (procrastinate's schema), on PostgreSQL only: with SQLite
jobs run in memory.

When you upgrade procrastinate to a release that ships SQL migrations (its release notes say so),
add an Alembic migration that runs each new file of procrastinate/sql/migrations/ in order, e.g.
op.execute(importlib.resources.files("procrastinate.sql.migrations").joinpath(NAME).read_text()).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # One script of many statements: asyncpg runs that only outside a prepared statement, so it
    # goes to the driver's connection directly (in the migration's transaction all the same).
    schema = SchemaManager.get_schema()
    op.get_bind().connection.dbapi_connection.run_async(lambda driver: driver.execute(schema))


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
