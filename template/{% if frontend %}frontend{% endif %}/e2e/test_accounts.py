"""An account's life in the browser: confirming the address, a forgotten password, the account
page. Every email comes from the real API through a real SMTP server (conftest.Inbox)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from conftest import (
    PASSWORD,
    Inbox,
    create_account,
    new_email,
    register_through_api,
    screenshot,
    sign_in,
)

NEW_PASSWORD = "battery-staple-77"  # noqa: S105 (a test account's next password)
# What a person reads for a weak password (frontend/src/errors.js), never pydantic's wording.
TOO_SHORT = (
    "This password is too short. "
    "Use at least 8 characters, with letters and at least one digit or symbol."
)
SENTENCE = re.compile(r"^[A-Z][^\n]*[.!?]$")


def test_sign_in_before_confirming_offers_the_link_again(page: Page, inbox: Inbox) -> None:
    email = new_email()
    register_through_api(page.request, email)
    inbox.link(email, "/verify-email")  # the first message, left unopened
    sign_in(page, email)
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)
    screenshot(page, "login-unconfirmed")

    page.get_by_role("button", name="Send the confirmation link again").click()
    expect(page.get_by_role("status").filter(has_text="new confirmation link")).to_contain_text(
        email
    )
    link = inbox.link(email, "/verify-email")
    page.goto(link)
    expect(page.get_by_role("heading", name="Email address confirmed")).to_be_visible()
    # A link works once: opening it again says so, in a sentence, and offers a new one.
    page.goto(link)
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(SENTENCE)
    expect(page.get_by_role("button", name="Send a new link")).to_be_visible()
    screenshot(page, "verify-email-used-link")

    sign_in(page, email)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)


def test_registering_a_taken_address_looks_like_a_new_one(page: Page, inbox: Inbox) -> None:
    """No account enumeration in the app either: the owner learns of it by email instead."""
    email = create_account(page.request, inbox)
    page.goto("/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("check-inbox")).to_contain_text(email)
    expect(page.get_by_role("alert")).to_have_count(0)


def test_forgot_password_resets_it_and_signs_out_every_session(
    browser: Browser, base_url: str, inbox: Inbox
) -> None:
    elsewhere = browser.new_context(base_url=base_url)  # the same account on another device
    old_session = elsewhere.new_page()
    email = create_account(old_session.request, inbox)
    sign_in(old_session, email)
    expect(old_session.get_by_test_id("signed-in-as")).to_have_text(email)

    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/forgot-password$"))
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status").filter(has_text="on its way")).to_be_visible()
    screenshot(page, "forgot-password")

    link = inbox.link(email, "/reset-password")
    page.goto(link)
    page.get_by_label("New password").fill("short1")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.locator(".field-error")).to_have_text(TOO_SHORT)
    screenshot(page, "reset-password-weak")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    screenshot(page, "reset-password-done")

    page.get_by_role("link", name="Sign in with your new password").click()
    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("alert")).to_be_visible()  # the old password is refused
    sign_in(page, email, NEW_PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)

    # The other device's session ended with the reset: reopening the app asks it to sign in,
    # and says why.
    old_session.reload()
    expect(old_session).to_have_url(re.compile(r"/login$"))
    expect(old_session.get_by_test_id("signed-in-as")).to_have_count(0)
    expect(old_session.get_by_role("status").filter(has_text="You were signed out")).to_have_text(
        "You were signed out: the password was changed or every session signed out. Sign in again."
    )

    # The link worked once.
    page.goto(link)
    page.get_by_label("New password").fill("another-pass-99")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_have_text(SENTENCE)
    expect(page.get_by_role("link", name="Send me a new link")).to_be_visible()
    context.close()
    elsewhere.close()


def test_the_account_page_changes_password_and_email_and_exports(
    page: Page, inbox: Inbox, tmp_path: Path
) -> None:
    email = create_account(page.request, inbox)
    sign_in(page, email)
    page.locator("app-header").get_by_role("link", name="Account").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_test_id("account-email")).to_have_text(f"{email}: confirmed.")
    screenshot(page, "account")

    change_password = page.locator("change-password")
    change_password.get_by_label("Current password").fill("not-my-password-1")
    change_password.get_by_label("New password").fill(NEW_PASSWORD)
    change_password.get_by_role("button", name="Change password").click()
    expect(change_password.get_by_role("alert")).to_have_text(SENTENCE)
    change_password.get_by_label("Current password").fill(PASSWORD)
    change_password.get_by_label("New password").fill(NEW_PASSWORD)
    change_password.get_by_role("button", name="Change password").click()
    expect(change_password.get_by_role("status")).to_contain_text("Your password is changed")
    page.reload()  # this device keeps its session: the API handed it a new pair
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my data").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".json")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert email in json.dumps(json.loads(saved.read_text()))

    new_address = new_email()
    change_email = page.locator("change-email")
    change_email.get_by_label("New email address").fill(new_address)
    change_email.get_by_label("Your password").fill(NEW_PASSWORD)
    change_email.get_by_role("button", name="Change email").click()
    expect(change_email.get_by_role("status")).to_contain_text(new_address)
    page.goto(inbox.link(new_address, "/verify-email"))
    expect(page.get_by_role("heading", name="Email address confirmed")).to_be_visible()
    page.get_by_role("link", name="Back to your account").click()
    expect(page.get_by_test_id("account-email")).to_have_text(f"{new_address}: confirmed.")


def test_sign_out_everywhere_and_delete_the_account(
    browser: Browser, base_url: str, page: Page, inbox: Inbox
) -> None:
    email = create_account(page.request, inbox)
    elsewhere = browser.new_context(base_url=base_url)
    other_device = elsewhere.new_page()
    sign_in(other_device, email)
    expect(other_device.get_by_test_id("signed-in-as")).to_have_text(email)

    sign_in(page, email)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
    page.goto("/account")
    page.get_by_role("button", name="Sign out everywhere").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status").filter(has_text="every device")).to_be_visible()
    screenshot(page, "signed-out-everywhere")
    other_device.reload()
    expect(other_device).to_have_url(re.compile(r"/login$"))
    expect(
        other_device.get_by_role("status").filter(has_text="You were signed out")
    ).to_be_visible()
    elsewhere.close()

    sign_in(page, email)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
    page.goto("/account")
    delete = page.locator("delete-account")
    page.on("dialog", lambda dialog: dialog.accept())
    delete.get_by_label("Confirm with your password").fill("not-my-password-1")
    delete.get_by_role("button", name="Delete my account").click()
    expect(delete.get_by_role("alert")).to_have_text(SENTENCE)
    delete.get_by_label("Confirm with your password").fill(PASSWORD)
    delete.get_by_role("button", name="Delete my account").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status").filter(has_text="deleted")).to_be_visible()
    screenshot(page, "account-deleted")
    answer = page.request.post("/api/v1/auth/login", form={"username": email, "password": PASSWORD})
    assert answer.status == 401


def test_every_validation_error_reads_as_a_sentence(page: Page) -> None:
    """The API's real 422 answers, through the app's own mapping (frontend/src/errors.js)."""
    bodies = [
        {"email": new_email(), "password": "short1"},
        {"email": new_email(), "password": "onlyletters"},
        {"email": "not-an-address", "password": PASSWORD},
        {"email": new_email()},
        {"email": new_email(), "password": PASSWORD, "full_name": "x" * 300},
    ]
    details = []
    for body in bodies:
        answer = page.request.post("/api/v1/auth/register", data=body)
        assert answer.status == 422, answer.text()
        details += answer.json()["detail"]
    page.goto("/login")
    messages = page.evaluate(
        """async (details) => {
            const errors = await import(new URL("src/errors.js", document.baseURI));
            return details.map(errors.validationMessage);
        }""",
        details,
    )
    assert messages[0] == TOO_SHORT
    for detail, message in zip(details, messages, strict=True):
        assert SENTENCE.match(message), f"{detail} reads {message!r}"
        assert "should" not in message and "Field required" not in message, message
