"""Browser tests: Chromium drives the app served by nginx (nginx/nginx.conf) before the real API.

The API runs on TEST_DATABASE_URL / TEST_REDIS_URL when they are set (as in CI), else on a fresh
SQLite file with the in-process cache. Set E2E_BASE_URL to test a stack that is already running
instead (`docker compose up`: http://127.0.0.1:8080). Chromium comes from CHROMIUM_PATH, else
/usr/bin/chromium when it exists, else Playwright's own (`playwright install chromium`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page

E2E_DIR = Path(__file__).resolve().parent
FRONTEND_DIR = E2E_DIR.parent
PROJECT_DIR = FRONTEND_DIR.parent
BACKEND_DIR = PROJECT_DIR / "backend"
NGINX_DIR = PROJECT_DIR / "nginx"
# Both gitignored: screenshots the tests take, and the servers' logs (with Playwright's traces).
SCREENSHOTS_DIR = E2E_DIR / "screenshots"
LOGS_DIR = E2E_DIR / "test-results"
STARTUP_SECONDS = 30
# The admin the API creates at start-up (FIRST_ADMIN_EMAIL); for E2E_BASE_URL, that stack's own.
ADMIN_EMAIL = os.environ.get("E2E_ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = os.environ.get("E2E_ADMIN_PASSWORD", "admin-horse-42")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (a local http URL)
                return
        except (urllib.error.URLError, ConnectionError):
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


@pytest.fixture(scope="session")
def api_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The API's environment: the backend's own virtualenv, the test database (migrated)."""
    LOGS_DIR.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    database = tmp_path_factory.mktemp("api") / "e2e.sqlite3"
    env |= {
        "ENVIRONMENT": "test",
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL", f"sqlite+aiosqlite:///{database}"),
        # These tests sign in right after registering: no inbox to verify an address from.
        "REQUIRE_VERIFIED_EMAIL": "false",
        "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
        "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
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


@pytest.fixture(scope="session")
def api_port(api_env: dict[str, str]) -> Iterator[int]:
    port, process = start_api(api_env, "api")
    yield port
    stop(process)


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
) -> Iterator[Callable[[], WebServer]]:
    """Starts nginx with the project's config; every server started is stopped at the end."""
    nginx = shutil.which(os.environ.get("NGINX_PATH", "nginx"))
    if nginx is None:
        pytest.fail("nginx not found: install nginx or set NGINX_PATH")
    started: list[WebServer] = []

    def start_one() -> WebServer:
        directory = tmp_path_factory.mktemp("nginx")
        port = free_port()
        config = nginx_config(directory, port, api_port, site_dir)
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
    return request.getfixturevalue("start_web_server")().url


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
