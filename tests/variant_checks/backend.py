"""The generated backend's own lint and tests, on PostgreSQL + Redis and on the SQLite default."""

from __future__ import annotations

import nox

from tests.variant_checks.common import REDIS_URL, Variant, fresh_database, run_in_project


def test_on_services(session: nox.Session, variant: Variant) -> None:
    """The project's own `make test` on a fresh PostgreSQL database and the variant's Redis DB."""
    run_in_project(
        session,
        variant,
        "make",
        "test",
        TEST_DATABASE_URL=fresh_database(session, variant.database),
        TEST_REDIS_URL=f"{REDIS_URL}/{variant.index}",
    )


def run(session: nox.Session, variant: Variant) -> None:
    run_in_project(session, variant, "make", "lint")
    test_on_services(session, variant)
    if variant.tier == "dev":
        # The embedded default: SQLite and the in-process cache, no services at all.
        run_in_project(session, variant, "make", "test")
