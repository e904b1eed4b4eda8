"""A real OpenID Connect provider for the sign-in tests: the npm package oidc-provider, installed
into this directory (`npm ci`, its node_modules gitignored) and started on 127.0.0.1, with a client
registered for the app's callback pages. `sign_in_at(url, login)` is a browser at its login and
consent pages: it follows redirects, submits the forms, and returns what the provider sends back.
"""

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest

from app.core.config import OAuthClient, OAuthProviders
from tests.conftest import make_settings

HERE = Path(__file__).parent
CLIENT_ID = "neoforge-test"
CLIENT_SECRET = "neoforge-test-secret"  # registered in provider.mjs
# The client GitHub's flow uses: it sends its secret as GitHub wants it (client_secret_post).
GITHUB_CLIENT_ID = "neoforge-test-github"
# The providers this project offers, read from its settings.
PROVIDERS = [
    name
    for name, field in OAuthProviders.model_fields.items()
    if isinstance(field.default, OAuthClient)
]
OIDC_PROVIDERS = [name for name in PROVIDERS if name != "github"]
# What provider.mjs prints once it answers, on the port the system gave it.
LISTENING = re.compile(r"^listening on (http://127\.0\.0\.1:\d+)$", re.MULTILINE)


def callback_url(provider: str) -> str:
    return f"{make_settings().public_url.rstrip('/')}/auth/callback/{provider}"


def oauth_settings(issuer: str) -> dict[str, dict[str, str]]:
    """Every provider of this project pointed at the local provider (GitHub's endpoints too)."""
    client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    endpoints = {
        "github": {
            "client_id": GITHUB_CLIENT_ID,
            "authorize_url": f"{issuer}/auth",
            "token_url": f"{issuer}/token",
            "api_url": f"{issuer}/github",
        },
    }
    return {name: {**client, **endpoints.get(name, {"issuer": issuer})} for name in PROVIDERS}


@dataclass
class LocalProvider:
    issuer: str
    process: subprocess.Popen[bytes]
    log: Path

    def check_running(self) -> None:
        """Fail the test with the provider's log where the provider has exited: the tests after
        that would otherwise only say that it cannot be reached."""
        if (code := self.process.poll()) is not None:
            log = self.log.read_text(errors="replace")
            pytest.fail(f"the OpenID Connect provider exited ({code}) mid-run; its log:\n{log}")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:
    """The local provider, started once for the whole test run (tests/conftest.py loads this
    module as a plugin, so every test module shares it)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("Node.js is needed to run the OpenID Connect provider these tests sign in at")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        install = [npm, "ci", "--no-audit", "--no-fund", "--silent"]
        subprocess.run(install, cwd=HERE, check=True)  # noqa: S603
    command = [node, "provider.mjs", *map(callback_url, PROVIDERS)]
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=HERE, stdout=output, stderr=output)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while not (listening := LISTENING.search(log.read_text(errors="replace"))):
            if process.poll() is not None or time.monotonic() > deadline:
                message = f"the OpenID Connect provider did not start:\n{log.read_text()}"
                raise RuntimeError(message)
            time.sleep(0.1)
        issuer = listening.group(1)
        httpx.get(f"{issuer}/.well-known/openid-configuration").raise_for_status()
        yield LocalProvider(issuer, process, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def oidc_issuer(oidc_provider: LocalProvider) -> str:
    """The local provider's issuer URL."""
    return oidc_provider.issuer


@pytest.fixture(autouse=True)
def _oidc_provider_running(request: pytest.FixtureRequest) -> None:
    """A test that signs in at the provider first checks that it is still there."""
    if "oidc_issuer" in request.fixturenames:
        request.getfixturevalue("oidc_provider").check_running()


class FirstForm(HTMLParser):
    """The first form of a page: where it posts, and its named inputs' values."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action") or ""
        elif tag == "input" and self.action is not None and not self._done and values.get("name"):
            self.fields[values["name"] or ""] = values.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._done = True


async def sign_in_at(url: str, login: str) -> dict[str, str]:
    """Open the provider's authorization URL as a browser, sign in as `login` (an email; any
    password) and consent; the query the provider sends to the app's callback page."""
    provider = urlsplit(url).netloc
    async with httpx.AsyncClient() as browser:
        response = await browser.get(url)
        for _ in range(20):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if urlsplit(location).netloc != provider:  # back to the app's callback page
                    return dict(parse_qsl(urlsplit(location).query))
                response = await browser.get(location)
                continue
            assert response.status_code == 200, response.text
            form = FirstForm()
            form.feed(response.text)
            assert form.action is not None, response.text
            fields = form.fields
            if "login" in fields:
                fields |= {"login": login, "password": "any"}
            response = await browser.post(urljoin(str(response.url), form.action), data=fields)
    raise AssertionError("the provider never sent the browser back")
