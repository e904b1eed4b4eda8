"""Browser tests: Chromium drives the app served by nginx (nginx/nginx.conf) before the real API.

The API runs on TEST_DATABASE_URL / TEST_REDIS_URL when they are set (as in CI), else on a fresh
SQLite file with the in-process cache. On PostgreSQL the job worker (`python -m app.worker`) runs
beside it, as in production, and sends the emails; on SQLite the API sends them itself. Either way
they go to a real SMTP server started here (aiosmtpd), whose `inbox` the tests read, and the links
in them point at the nginx the browser uses. Set E2E_BASE_URL to test a stack that is already
running instead (`docker compose up`: http://127.0.0.1:8080; tests that read emails skip).
Chromium comes from CHROMIUM_PATH, else /usr/bin/chromium when it exists, else Playwright's own
(`playwright install chromium`).
"""

from __future__ import annotations

import email
import email.policy
import html
import http.client
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import APIRequestContext, Page

E2E_DIR = Path(__file__).resolve().parent
FRONTEND_DIR = E2E_DIR.parent
PROJECT_DIR = FRONTEND_DIR.parent
BACKEND_DIR = PROJECT_DIR / "backend"
NGINX_DIR = PROJECT_DIR / "nginx"
# Both gitignored: screenshots the tests take, and the servers' logs (with Playwright's traces).
SCREENSHOTS_DIR = E2E_DIR / "screenshots"
LOGS_DIR = E2E_DIR / "test-results"
STARTUP_SECONDS = 30
PASSWORD = "correct-horse-42"  # noqa: S105 (the test accounts' password)
# Sending is a background job: it may wait for the worker's next poll and a retry or two.
MAIL_SECONDS = 30
# The admin the API creates at start-up (FIRST_ADMIN_EMAIL); for E2E_BASE_URL, that stack's own.
ADMIN_EMAIL = os.environ.get("E2E_ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = os.environ.get("E2E_ADMIN_PASSWORD", "admin-horse-42")


# Below the range Linux hands out to any socket that asks for "a free port" (32768 and up): a port
# picked here is not given to another test's SMTP or HTTP server before ours binds it.
PICKED_PORTS = range(20000, 32768)


def free_port() -> int:
    for port in random.sample(PICKED_PORTS, 100):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PICKED_PORTS}")


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (a local http URL)
                return
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
            # Not up yet, or another program's server on the port: ours then exits (see above).
            time.sleep(0.2)
    process.terminate()
    pytest.fail(f"{url} did not answer within {STARTUP_SECONDS}s; see {log}")


def start(command: list[str], log: Path, cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Inbox:
    """What the test SMTP server received: an aiosmtpd handler the tests read from."""

    def __init__(self) -> None:
        self.port = 0  # the server's, once it listens
        self.messages: list[EmailMessage] = []
        self._read: set[int] = set()
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def link(self, to: str, path: str) -> str:
        """The link to `path` (/verify-email, /reset-password) in the next unread message to `to`
        that has one, waiting for it to arrive; the message is then read."""
        pattern = re.compile(rf"https?://[^\s\"'<>]+{re.escape(path)}\?token=[^\s\"'<>]+")
        deadline = time.monotonic() + MAIL_SECONDS
        with self._arrived:
            while True:
                for index, message in enumerate(self.messages):
                    if index in self._read or to.lower() not in str(message["To"]).lower():
                        continue
                    if found := pattern.search(text_of(message)):
                        self._read.add(index)
                        return html.unescape(found.group())
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{m['To']}: {m['Subject']}" for m in self.messages]
                    pytest.fail(f"no email to {to} with a {path} link in {MAIL_SECONDS}s: {seen}")
                self._arrived.wait(remaining)

    def count(self, to: str) -> int:
        with self._arrived:
            return sum(to.lower() in str(message["To"]).lower() for message in self.messages)


def text_of(message: EmailMessage) -> str:
    """The message's plain-text body (else its HTML)."""
    body = message.get_body(preferencelist=("plain", "html"))
    return body.get_content() if body is not None else ""


@pytest.fixture(scope="session")
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (no TLS, no login) that keeps every message it receives."""
    if "E2E_BASE_URL" in os.environ:
        pytest.skip("E2E_BASE_URL: that stack sends its emails elsewhere")
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture(scope="session")
def web_port() -> int:
    """The port of the nginx the browser uses, chosen first: the API's email links name it."""
    return free_port()


@pytest.fixture(scope="session")
def api_env(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, web_port: int
) -> dict[str, str]:
    """The API's environment: the backend's own virtualenv, the test database (migrated), email
    to the test SMTP server with links to the test's nginx, and addresses confirmed to sign in."""
    LOGS_DIR.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    database = tmp_path_factory.mktemp("api") / "e2e.sqlite3"
    env |= {
        "ENVIRONMENT": "test",
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL", f"sqlite+aiosqlite:///{database}"),
        "PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        # As mvp and growth run: an address is confirmed (from the inbox below) before signing in.
        "REQUIRE_VERIFIED_EMAIL": "true",
        # Every test signs up and in from 127.0.0.1, far more often than a person: the limits are
        # the API tests' subject (backend/tests), not these.
        "RATE_LIMIT__LOGIN_PER_MINUTE": "1000",
        "RATE_LIMIT__ACCOUNT_PER_MINUTE": "1000",
        "RATE_LIMIT__ACCOUNT_PER_EMAIL_PER_MINUTE": "100",
        "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
        "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    if "E2E_BASE_URL" not in os.environ:
        inbox: Inbox = request.getfixturevalue("inbox")
        env |= {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(inbox.port),
            "SMTP_TLS": "none",
            "EMAILS_FROM": "app@example.com",
        }
    if "TEST_REDIS_URL" in os.environ:
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    subprocess.run(
        ["uv", "run", "alembic", "upgrade", "head"], cwd=BACKEND_DIR, env=env, check=True
    )
    return env


def start_api(env: dict[str, str], name: str) -> tuple[int, subprocess.Popen[bytes]]:
    """uvicorn serving the project's API on a free port, once it answers."""
    port = free_port()
    log = LOGS_DIR / f"{name}.log"
    command = ["uv", "run", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
    process = start(command, log, BACKEND_DIR, env)
    wait_until_up(f"http://127.0.0.1:{port}/health/live", process, log)
    return port, process


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`python -m app.worker` (PostgreSQL only), once its metrics port answers."""
    port = free_port()
    log = LOGS_DIR / "worker.log"
    worker_env = {**env, "API_HOST": "127.0.0.1", "METRICS_PORT": str(port)}
    process = start(["uv", "run", "python", "-m", "app.worker"], log, BACKEND_DIR, worker_env)
    wait_until_up(f"http://127.0.0.1:{port}/metrics", process, log)
    return process


@pytest.fixture(scope="session")
def api_port(api_env: dict[str, str]) -> Iterator[int]:
    """The API, and on PostgreSQL the job worker that sends its emails."""
    on_sqlite = api_env["DATABASE_URL"].startswith("sqlite")
    worker = None if on_sqlite else start_worker(api_env)
    port, process = start_api(api_env, "api")
    yield port
    stop(process)
    if worker is not None:
        stop(worker)


@pytest.fixture
def make_dev_url(api_env: dict[str, str]) -> Iterator[str]:
    """The API as `make dev` runs it (ENVIRONMENT=local), serving frontend/ itself (app/web.py)."""
    port, process = start_api({**api_env, "ENVIRONMENT": "local"}, "make-dev")
    yield f"http://127.0.0.1:{port}"
    stop(process)


@dataclass
class WebServer:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop(self.process)


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the web image serves, assembled by the same script (frontend/build-site.sh)."""
    if not (FRONTEND_DIR / "node_modules" / "lit").is_dir():
        pytest.fail("frontend/node_modules is missing: run `npm ci` in frontend/ (make e2e does)")
    site = tmp_path_factory.mktemp("site")
    subprocess.run(["sh", str(FRONTEND_DIR / "build-site.sh"), str(site)], check=True)
    return site


def nginx_config(directory: Path, port: int, api_port: int, site: Path) -> Path:
    """nginx/nginx.conf as the web image runs it, pointed at local ports, files and temp dirs."""
    replacements = {  # in this order: later paths may well contain /tmp/ themselves
        "/tmp/": f"{directory}/",  # noqa: S108 (replaced by a private directory)
        "listen 8080;": f"listen 127.0.0.1:{port};",
        "root /usr/share/nginx/html;": f"root {site};",
    }
    config = (NGINX_DIR / "nginx.conf").read_text()
    for production, local in replacements.items():
        if production not in config:
            pytest.fail(f"nginx/nginx.conf has no {production!r}: update nginx_config() here")
        config = config.replace(production, local)
    for include in NGINX_DIR.glob("*.conf"):
        shutil.copy(include, directory)
    # What nginx/start.sh writes in the image; an address needs no resolver.
    (directory / "nginx-runtime.conf").write_text(f"set $api_upstream 127.0.0.1:{api_port};\n")
    (directory / "nginx.conf").write_text(config)
    return directory / "nginx.conf"


@pytest.fixture(scope="session")
def start_web_server(
    api_port: int, site_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., WebServer]]:
    """Starts nginx with the project's config; every server started is stopped at the end."""
    nginx = shutil.which(os.environ.get("NGINX_PATH", "nginx"))
    if nginx is None:
        pytest.fail("nginx not found: install nginx or set NGINX_PATH")
    started: list[WebServer] = []

    def start_one(port: int | None = None, api: int | None = None) -> WebServer:
        """nginx on `port` (any free one) before the API on `api` (the session's)."""
        directory = tmp_path_factory.mktemp("nginx")
        port = port or free_port()
        config = nginx_config(directory, port, api or api_port, site_dir)
        # As root, nginx's workers would switch to "nobody", who may not read this checkout.
        user = " user root;" if os.geteuid() == 0 else ""
        command = [nginx, "-e", "stderr", "-p", str(directory), "-c", str(config)]
        command += ["-g", f"daemon off;{user}"]
        log = LOGS_DIR / f"nginx-{port}.log"
        server = WebServer(f"http://127.0.0.1:{port}", start(command, log, directory, {}))
        wait_until_up(f"{server.url}/health/live", server.process, log)
        started.append(server)
        return server

    yield start_one
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    """Where the browser goes: E2E_BASE_URL, else nginx started here (in front of the API)."""
    if url := os.environ.get("E2E_BASE_URL"):
        return url.rstrip("/")
    web_port = request.getfixturevalue("web_port")
    return request.getfixturevalue("start_web_server")(web_port).url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium when present; flags for root and for machines without internet access."""
    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("/usr/bin/chromium")
    args = [
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to sandbox as root
    return {**browser_type_launch_args, "executable_path": executable, "args": args}


@pytest.fixture(autouse=True)
def no_browser_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a browser test on any uncaught error or console error (a CSP violation, say)."""
    if "page" not in request.fixturenames:
        yield
        return
    page: Page = request.getfixturevalue("page")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    yield
    # HTTP errors (a 401 for a wrong password) and refused requests offline are the app's to show.
    errors = [error for error in errors if not error.startswith("Failed to load resource")]
    assert not errors, f"the browser reported errors: {errors}"


def wait_for_service_worker(page: Page) -> None:
    """Returns once the service worker controls the page (it claims it when it activates).

    A function, not wait_for_function's polled expression, which the CSP refuses to evaluate."""
    page.evaluate(
        """() => navigator.serviceWorker.controller !== null || new Promise((resolve) =>
            navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true)))"""
    )


def screenshot(page: Page, name: str) -> Path:
    """Saves a full-page screenshot to frontend/e2e/screenshots/ and returns its path."""
    SCREENSHOTS_DIR.mkdir(exist_ok=True)
    path = SCREENSHOTS_DIR / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def new_email() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}@example.com"


def register_through_api(request: APIRequestContext, email: str) -> None:
    response = request.post("/api/v1/auth/register", data={"email": email, "password": PASSWORD})
    assert response.status == 201, response.text()


def token_of(link: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]


def create_account(request: APIRequestContext, inbox: Inbox) -> str:
    """A new account with its address confirmed (through the emailed link's token): its email."""
    email = new_email()
    register_through_api(request, email)
    token = token_of(inbox.link(email, "/verify-email"))
    response = request.post("/api/v1/auth/verify-email", data={"token": token})
    assert response.status == 200, response.text()
    return email


def sign_in(page: Page, email: str, password: str = PASSWORD, base_url: str = "") -> None:
    """Sign in through the form; `base_url` names another server than the test's default."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()  # not "Sign in with ..."
