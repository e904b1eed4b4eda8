"""`make dev` as a newcomer runs it (issue 30): on a port of their own, they sign up in the page
it serves, open the confirmation link from its dev inbox (/dev/inbox), which names that port, and
sign in. Runs when E2E_MAKE_DEV is set (the template's suite sets it on one variant): it starts
`make dev`, reloader and all, on a database and an inbox of its own in a temporary directory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from conftest import LOGS_DIR, PASSWORD, PROJECT_DIR, free_port, new_email, sign_in

# `make dev` migrates first, and the machine may be busy with other tests.
STARTUP_SECONDS = 120

pytestmark = pytest.mark.skipif(
    "E2E_MAKE_DEV" not in os.environ, reason="set E2E_MAKE_DEV=1 to start `make dev`"
)


@pytest.fixture
def make_dev(tmp_path: Path) -> Iterator[str]:
    """`make dev PORT=<a free port>` in the project; its URL once it answers."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env |= {
        # Not the project's dev.sqlite3 and dev-inbox/: a run of its own. SMTP_HOST empty: the
        # dev inbox, whatever .env says.
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'dev.sqlite3'}",
        "DEV_INBOX_DIR": str(tmp_path / "dev-inbox"),
        "SMTP_HOST": "",
        "REQUIRE_VERIFIED_EMAIL": "true",
    }
    for name in ("ENVIRONMENT", "PUBLIC_URL", "API_PORT", "PORT", "REDIS_URL"):
        env.pop(name, None)
    LOGS_DIR.mkdir(exist_ok=True)
    log = LOGS_DIR / "make-dev-port.log"
    with log.open("wb") as output:
        # A session of its own: uvicorn's reloader and its server stop together.
        process = subprocess.Popen(
            ["make", "dev", f"PORT={port}"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"make dev exited with {process.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"{url}/health/live", timeout=2):  # noqa: S310
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"make dev did not answer on {url} in {STARTUP_SECONDS}s: {log}")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_newcomer_signs_up_through_the_dev_inbox(page: Page, make_dev: str) -> None:
    email = new_email()
    page.goto(f"{make_dev}/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("check-inbox")).to_contain_text(email)

    # The README's way: open /dev/inbox (a job sends the email: reload until it is there) and
    # follow the link in the message.
    message = page.get_by_role("article").filter(has_text=email)
    for _ in range(60):
        page.goto(f"{make_dev}/dev/inbox")
        if message.count():
            break
        time.sleep(0.5)
    link = message.locator("a[href*='/verify-email?token=']")
    expect(link).to_have_attribute("href", re.compile(rf"^{re.escape(make_dev)}/verify-email\?"))
    link.click()
    expect(page.get_by_role("heading", name="Email address confirmed")).to_be_visible()
    page.locator("verify-email").get_by_role("link", name="Sign in").click()
    sign_in(page, email, base_url=make_dev)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
    expect(page).to_have_url(f"{make_dev}/items")
