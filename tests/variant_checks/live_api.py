"""Serve a rendered project's API for real, the way its image does, for checks that talk HTTP to it.

    with live_api.running(session, project, database_url=..., redis_url=...) as api:
        token = live_api.sign_up(api.url)
        ...  # api.url is http://127.0.0.1:<free port>; api.log has its JSON logs

`running` does what the generated compose stack does: `alembic upgrade head` as a one-shot, then
`python -m app` (uvicorn with the tier's WEB_CONCURRENCY workers, Prometheus multiprocess mode) on
127.0.0.1, and it yields once /health/ready answers 200. The `api` nox session fuzzes it with
schemathesis; other sessions (Prometheus scraping, browser tests) can start it the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import nox

from tests.variant_checks.common import NOT_THE_NOX_VENV, free_port


@dataclass(frozen=True)
class LiveApi:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    metrics_url: str  # http://127.0.0.1:<metrics port>/metrics: Prometheus's own port
    log: Path  # the server's output (JSON lines)
    env: Mapping[str, str]  # the environment it runs with (DATABASE_URL, REDIS_URL, SECRET_KEY...)


@contextlib.contextmanager
def running(
    session: nox.Session,
    project: Path,
    *,
    database_url: str,
    redis_url: str | None,
    environment: str = "production",
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    migrate: bool = True,
) -> Iterator[LiveApi]:
    """Migrate, start `python -m app` in `project`/backend, wait until ready; stop it afterwards.

    `workers=None` keeps the tier's default worker count; `redis_url=None` runs on the in-process
    cache. The Redis database given is emptied first, so counters of an earlier run do not count.
    `env` adds or overrides variables (RATE_LIMIT__API_PER_MINUTE, say).
    """
    backend = project / "backend"
    tmp = Path(session.create_tmp())
    port, metrics_port = free_port(), free_port()
    metrics_dir = tmp / f"prometheus-{port}"
    overrides = {
        **image_environment(project),
        "DATABASE_URL": database_url,
        "ENVIRONMENT": environment,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "METRICS_PORT": str(metrics_port),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **({"REDIS_URL": redis_url} if redis_url else {}),
        **({"WEB_CONCURRENCY": str(workers)} if workers else {}),
        # The checks register and sign in at once: no inbox to verify an address from.
        "REQUIRE_VERIFIED_EMAIL": "false",
        **(env or {}),
    }
    server_env = {
        **{key: value for key, value in os.environ.items() if key not in NOT_THE_NOX_VENV},
        **overrides,
    }
    if not redis_url:
        server_env.pop("REDIS_URL", None)
    if redis_url:
        session.run("redis-cli", "-u", redis_url, "flushdb", external=True, silent=True)
    # The one-shot migrations, as compose and Kubernetes run them before the API starts.
    # `migrate=False`: an older release's API on a database a newer one migrated (its tables and
    # more), which its own migrations could not upgrade (they lack the newer revision).
    if migrate:
        with session.chdir(backend):
            session.run(
                "uv", "run", "alembic", "upgrade", "head",
                env={**NOT_THE_NOX_VENV, **overrides}, external=True,
            )  # fmt: skip

    log = tmp / f"api-{port}.log"
    session.log(f"Starting the API on 127.0.0.1:{port} (log: {log})")
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["uv", "run", "python", "-m", "app"],
            cwd=backend,
            env=server_env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: uv, uvicorn and every worker
        )
    api = LiveApi(
        url=f"http://127.0.0.1:{port}",
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        log=log,
        env=server_env,
    )
    try:
        wait_until_ready(session, api, process, timeout)
        yield api
    finally:
        stop(process)


def image_environment(project: Path) -> dict[str, str]:
    """What the API image's Dockerfile sets that changes how the API serves (which proxies uvicorn
    believes, how glibc hands memory back), so the API runs here as its image runs it."""
    dockerfile = (project / "backend" / "Dockerfile").read_text()
    pattern = r"^ENV (FORWARDED_ALLOW_IPS|MALLOC_MMAP_THRESHOLD_)=(\S+)$"
    return dict(re.findall(pattern, dockerfile, re.MULTILINE))


def wait_until_ready(
    session: nox.Session, api: LiveApi, process: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    answer = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            session.error(f"The API exited with {process.returncode}:\n{tail(api.log)}")
        try:
            with urllib.request.urlopen(f"{api.url}/health/ready", timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:  # 503: a dependency is not there yet
            answer = f"{error.code} {error.read().decode(errors='replace')}"
        except OSError as error:  # not listening yet
            answer = str(error)
        time.sleep(0.25)
    session.error(f"/health/ready not 200 after {timeout:.0f} s ({answer}):\n{tail(api.log)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (uvicorn shuts its workers down), SIGKILL if stuck."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def tail(log: Path, characters: int = 4000) -> str:
    return log.read_text(errors="replace")[-characters:] if log.exists() else "(no log)"


def request(url: str, data: bytes | None = None, headers: Mapping[str, str] | None = None) -> bytes:
    with urllib.request.urlopen(
        urllib.request.Request(url, data, dict(headers or {})), timeout=10
    ) as answer:
        return answer.read()


def sign_up(api_url: str, email: str | None = None, password: str = "Live-api-check-42") -> str:
    """Register a user and log in; the access token."""
    email = email or f"live-{secrets.token_hex(6)}@example.com"
    registration = json.dumps({"email": email, "password": password}).encode()
    request(f"{api_url}/api/v1/auth/register", registration, {"Content-Type": "application/json"})
    form = urllib.parse.urlencode({"username": email, "password": password}).encode()
    return json.loads(request(f"{api_url}/api/v1/auth/login", form))["access_token"]


def forged_forwarded_for_is_ignored(session: nox.Session, api: LiveApi, limit: int) -> None:
    """A client that connects directly and names a new address in X-Forwarded-For on every login
    try is still limited: only a proxy on the private network is believed."""
    email = f"forged-{secrets.token_hex(6)}@example.com"
    statuses = []
    for attempt in range(limit + 1):
        form = urllib.parse.urlencode({"username": email, "password": "wrong-pass-1"}).encode()
        forged = {"X-Forwarded-For": f"203.0.113.{attempt}"}
        try:
            request(f"{api.url}/api/v1/auth/login", form, forged)
            statuses.append(200)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    if statuses != [401] * limit + [429]:
        session.error(f"Login limit bypassed with a forged X-Forwarded-For: {statuses}")
    session.log(f"Forged X-Forwarded-For ignored: {limit} x 401, then 429")


# Signed in as this admin (FIRST_ADMIN_EMAIL), the fuzzer reaches the admin routes too.
FUZZ_ADMIN = {
    "FIRST_ADMIN_EMAIL": "fuzz-admin@example.com",
    "FIRST_ADMIN_PASSWORD": "Fuzz-admin-42",
}
# Operations that end the fuzzer's own session (its token would be refused from then on, and
# every later call would only test the 401): tested by the project's own tests instead.
SESSION_ENDING = ("auth-logout-all", "users-change-password", "users-delete-me",
                  "admin-force-password-reset")  # fmt: skip


def schemathesis(session: nox.Session, api: LiveApi, *options: str) -> None:
    """Fuzz every operation of the API's OpenAPI schema, signed in as an admin, one call at a time
    and in linked chains; fail on any server error or other schema violation.

    positive_data_acceptance is left out: the API refuses email addresses no mail can reach
    (special-use domains such as .test), which JSON Schema's `email` format allows.
    """
    form = urllib.parse.urlencode(
        {
            "username": FUZZ_ADMIN["FIRST_ADMIN_EMAIL"],
            "password": FUZZ_ADMIN["FIRST_ADMIN_PASSWORD"],
        }
    ).encode()
    token = json.loads(request(f"{api.url}/api/v1/auth/login", form))["access_token"]
    excluded = [
        arg for operation in SESSION_ENDING for arg in ("--exclude-operation-id", operation)
    ]
    with session.chdir(session.create_tmp()):  # hypothesis keeps its example database here
        session.run(
            "schemathesis", "run", f"{api.url}/openapi.json",
            "--checks", "all",
            "--exclude-checks", "positive_data_acceptance",
            # Stateful: chains of calls along the links schemathesis infers (POST /items, then
            # GET, PATCH, DELETE of the item its Location names).
            "--phases", "examples,coverage,fuzzing,stateful",
            "--header", f"Authorization: Bearer {token}",
            "--max-examples", "100",
            "--seed", "20261121",
            "--request-timeout", "10",
            *excluded,
            *options,
        )  # fmt: skip
