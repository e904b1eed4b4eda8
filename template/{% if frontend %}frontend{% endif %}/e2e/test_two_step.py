"""Two-step sign-in and passkeys in Chromium: an authenticator app set up from the account page's
secret (pyotp plays the app), then a sign-in that asks for its code; and a passkey made on the
account page by Chromium's virtual authenticator (DevTools' WebAuthn domain), then a sign-in with
it alone.

Browsers refuse WebAuthn on an IP address, so the passkey test runs against its own API whose
PUBLIC_URL (the relying party) is http://localhost:<port>, behind its own nginx."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pyotp
import pytest
from playwright.sync_api import Page, expect

from conftest import (
    Inbox,
    WebServer,
    create_account,
    free_port,
    screenshot,
    sign_in,
    start_api,
    stop,
)


def code_at(secret: str, offset: int) -> str:
    """The app's code `offset` steps from now, with at least 5 seconds left in this step."""
    if time.time() % 30 > 25:
        time.sleep(30 - time.time() % 30 + 0.1)
    return pyotp.TOTP(secret).at(time.time(), counter_offset=offset)


def sign_out(page: Page) -> None:
    page.locator("app-header").get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)


def test_an_authenticator_app_set_up_on_the_account_page_asks_for_its_code(
    page: Page, inbox: Inbox
) -> None:
    email = create_account(page.request, inbox)
    sign_in(page, email)
    page.locator("app-header").get_by_role("link", name="Account").click()
    mfa = page.locator("account-mfa")
    mfa.get_by_role("button", name="Set up an authenticator app").click()
    expect(mfa.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = mfa.get_by_test_id("totp-secret").inner_text()
    screenshot(page, "two-step-setup")
    # The step before this one's: this step's code is left for the sign-in below.
    mfa.get_by_label("Code from the app").fill(code_at(secret, -1))
    mfa.get_by_role("button", name="Turn on").click()
    expect(mfa.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    screenshot(page, "two-step-recovery-codes")
    mfa.get_by_role("button", name="I saved them").click()
    expect(mfa.get_by_test_id("mfa-status")).to_contain_text("10 recovery codes left")

    sign_out(page)
    sign_in(page, email)
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)
    step = page.locator("mfa-step")
    step.get_by_label("Code").fill("000000" if code_at(secret, 0) != "000000" else "111111")
    step.get_by_role("button", name="Verify").click()
    expect(step.get_by_role("alert")).to_contain_text("That code is not right")
    step.get_by_label("Code").fill(code_at(secret, 0))
    step.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)


@pytest.fixture
def localhost_site(
    api_env: dict[str, str], start_web_server: Callable[..., WebServer]
) -> Iterator[str]:
    """The app at http://localhost:<port>: an API whose relying party is that origin, and nginx."""
    port = free_port()
    api_port, api = start_api(
        {**api_env, "PUBLIC_URL": f"http://localhost:{port}"}, "api-localhost"
    )
    server = start_web_server(port, api=api_port)
    yield server.url.replace("127.0.0.1", "localhost")
    server.stop()
    stop(api)


def test_a_passkey_made_on_the_account_page_signs_in_alone(
    page: Page, inbox: Inbox, localhost_site: str
) -> None:
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    email = create_account(page.request, inbox)
    sign_in(page, email, base_url=localhost_site)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
    page.locator("app-header").get_by_role("link", name="Account").click()
    passkeys = page.locator("account-passkeys")
    passkeys.get_by_label("Name of the new passkey").fill("Test laptop")
    passkeys.get_by_role("button", name="Add a passkey").click()
    expect(passkeys.get_by_role("status")).to_contain_text("is added")
    expect(passkeys.get_by_test_id("passkey").get_by_label("Name")).to_have_value("Test laptop")
    screenshot(page, "passkeys")

    sign_out(page)
    page.goto(f"{localhost_site}/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
