"""docs/add-a-resource.md, followed word for word on the rendered project (tests/guide.py), then
the project's own `make lint` and `make test`: the guide's notes resource is linted, migrated and
tested with everything else. Last, a cross-cutting module that imports a domain must fail
`make lint` (import-linter), so the layout rule is known to bite."""

from pathlib import Path

import nox

from tests import guide
from tests.variant_checks.backend import test_on_services
from tests.variant_checks.common import NOT_THE_NOX_VENV, Variant, run_in_project

# A cross-cutting part importing a domain: the first contract of [tool.importlinter].
# Ruff-clean (its own block at the end, noqa), so only import-linter can refuse it.
UPSIDE_DOWN = "\n\nimport app.notes.models  # noqa: E402, F401\n"
BROKEN = "The cross-cutting parts never import a domain BROKEN"


def follow(session: nox.Session, variant: Variant, database: Path) -> None:
    for step in guide.steps(variant.project):
        if step.path is None:
            session.log(f"The guide says to run:\n{step.text}")
            run_in_project(
                session, variant, "bash", "-euo", "pipefail", "-c", step.text,
                DATABASE_URL=f"sqlite+aiosqlite:///{database}",
            )  # fmt: skip
        else:
            guide.apply(variant.project, step)


def upside_down_import_fails_the_lint(session: nox.Session, variant: Variant) -> None:
    store = variant.project / "backend" / "app" / "cache" / "store.py"
    original = store.read_text()
    store.write_text(original + UPSIDE_DOWN)
    try:
        with session.chdir(variant.project):
            # make exits 2 when a command it runs fails: that is the outcome wanted here.
            output = session.run(
                "make", "lint", external=True, env=NOT_THE_NOX_VENV, silent=True,
                success_codes=[0, 2],
            )  # fmt: skip
    finally:
        store.write_text(original)
    if BROKEN not in str(output):
        session.error(f"make lint let app/cache import a domain:\n{str(output)[-3000:]}")


def run(session: nox.Session, variant: Variant) -> None:
    if "guide" not in variant.once:
        return
    database = (variant.project / "backend" / "guide.db").resolve()
    try:
        follow(session, variant, database)
    finally:
        database.unlink(missing_ok=True)
    written = sorted((variant.project / "backend" / "alembic" / "versions").glob("*add_notes*"))
    if len(written) != 1:
        session.error(f"the guide's migration step wrote {written}, not one revision")
    run_in_project(session, variant, "make", "lint")
    test_on_services(session, variant)
    upside_down_import_fails_the_lint(session, variant)
