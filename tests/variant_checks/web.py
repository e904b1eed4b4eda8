"""The web tier: `nginx -t` on the generated config for every variant; for frontend variants the
project's own browser tests (`make e2e`: Chromium, nginx and the API on PostgreSQL + Redis), which
also print the JavaScript a first visit downloads and, on the variant whose `once` names it,
Lighthouse's four scores for the sign-in page (failing under 100) and a sign-up through `make dev`
and its dev inbox (`make_dev`)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import nox

from tests.variant_checks.common import (
    Variant,
    fresh_database,
    npm_package,
    run_in_project,
)

# What nginx/start.sh must give the config: a resolver with a short validity, so the API's address
# is looked up per request and a recreated api container is found without restarting nginx.
RESOLVER = re.compile(r"^\s*resolver \S.* valid=\d+s", re.MULTILINE)


def run(session: nox.Session, variant: Variant) -> None:
    check_nginx_config(session, variant)
    if variant.frontend and not variant.browser:
        session.log("The browser suite runs on the variants that cover this frontend (tiers.toml)")
    elif variant.frontend:
        if not (os.environ.get("CHROMIUM_PATH") or Path("/usr/bin/chromium").exists()):
            # No system Chromium (GitHub's Ubuntu runners): the project's own way to get one.
            run_in_project(session, variant, "make", "e2e-browser")
        scores = {"LIGHTHOUSE": lighthouse(session)} if "lighthouse" in variant.once else {}
        # frontend/e2e/test_make_dev.py: `make dev PORT=...`, a sign-up through its dev inbox.
        make_dev = {"E2E_MAKE_DEV": "1"} if "make_dev" in variant.once else {}
        # Chromium makes a unix socket in TMPDIR, and a socket's path has at most 107 bytes: nox's
        # tmp under a clone's path and a variant's name can be longer ("Socket path too long").
        short_tmp = tempfile.mkdtemp(prefix="nf-e2e-")
        try:
            run_in_project(
                session,
                variant,
                "make",
                "e2e",
                TEST_DATABASE_URL=fresh_database(session, f"{variant.database}_e2e"),
                TEST_REDIS_URL=variant.redis,
                TMPDIR=short_tmp,
                **scores,
                **make_dev,
            )
        finally:
            shutil.rmtree(short_tmp, ignore_errors=True)


def lighthouse(session: nox.Session) -> str:
    """The lighthouse CLI that frontend/e2e/test_lighthouse.py runs when LIGHTHOUSE names it."""
    return str(npm_package(session, "lighthouse", "12") / "node_modules" / ".bin" / "lighthouse")


def check_nginx_config(session: nox.Session, variant: Variant) -> None:
    """`nginx -t` on nginx/nginx.conf as the image's nginx/start.sh runs it (with /tmp paths moved
    into the session), then the full config (`nginx -T`) must resolve the API at request time."""
    # Absolute: nginx reads a relative -c path against its -p prefix.
    directory = Path(session.create_tmp()).resolve() / f"nginx-{variant.slug}"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(variant.project / "nginx", directory)
    config = directory / "nginx.conf"
    config.write_text(config.read_text().replace("/tmp/", f"{directory}/"))
    start = ["sh", str(directory / "start.sh"), "-p", str(directory), "-c", str(config)]
    env = {"NGINX_RUNTIME_DIR": str(directory)}
    session.run(*start, "-t", env=env, external=True)
    full = session.run(*start, "-T", env=env, external=True, silent=True)
    if not RESOLVER.search(full) or "proxy_pass http://$api_upstream;" not in full:
        session.error(f"{variant.slug}: nginx does not resolve the API at request time:\n{full}")
