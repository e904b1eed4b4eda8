"""The web tier: `nginx -t` on the generated config for every variant; for frontend variants the
project's own browser tests (`make e2e`: Chromium, nginx and the API on PostgreSQL + Redis), which
also print the JavaScript a first visit downloads."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

from tests.variant_checks.common import REDIS_URL, Variant, fresh_database, run_in_project

# The compose service name the config proxies to; nginx refuses to start if it cannot resolve it.
UPSTREAM = "server api:8000;"


def run(session: nox.Session, variant: Variant) -> None:
    check_nginx_config(session, variant)
    if variant.frontend:
        if not (os.environ.get("CHROMIUM_PATH") or Path("/usr/bin/chromium").exists()):
            # No system Chromium (GitHub's Ubuntu runners): the project's own way to get one.
            run_in_project(session, variant, "make", "e2e-browser")
        run_in_project(
            session,
            variant,
            "make",
            "e2e",
            TEST_DATABASE_URL=fresh_database(session, f"{variant.database}_e2e"),
            TEST_REDIS_URL=f"{REDIS_URL}/{variant.index}",
        )


def check_nginx_config(session: nox.Session, variant: Variant) -> None:
    """`nginx -t` on nginx/nginx.conf as shipped, except for the upstream host and /tmp paths."""
    # Absolute: nginx reads a relative -c path against its -p prefix.
    directory = Path(session.create_tmp()).resolve() / f"nginx-{variant.slug}"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(variant.project / "nginx", directory)
    config = directory / "nginx.conf"
    text = config.read_text()
    if UPSTREAM not in text:
        session.error(f"{variant.slug}/nginx/nginx.conf no longer has {UPSTREAM!r}")
    local = text.replace(UPSTREAM, "server 127.0.0.1:8000;").replace("/tmp/", f"{directory}/")
    config.write_text(local)
    session.run("nginx", "-t", "-p", str(directory), "-c", str(config), external=True)
