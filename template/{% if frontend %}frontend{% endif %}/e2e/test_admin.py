"""The admin area in a real browser: an admin finds, deactivates and audits a member; members are
kept out."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BACKEND_DIR,
    FRONTEND_DIR,
    Inbox,
    create_account,
    screenshot,
    sign_in,
)

# src/errors.js's words for the API's last_admin code (backend app/api/errors.py).
LAST_ADMIN = "This is the last active admin. Make someone else an admin first."


def test_an_admin_deactivates_a_member_and_sees_it_in_the_audit_trail(
    page: Page, browser: Browser, base_url: str, inbox: Inbox
) -> None:
    # The member, signed in in a browser of their own: no Admin link for them.
    member_context = browser.new_context(base_url=base_url)
    member = member_context.new_page()
    email = create_account(member.request, inbox)
    sign_in(member, email)
    expect(member.get_by_text("No items yet.")).to_be_visible()
    expect(member.locator("app-header").get_by_role("link", name="Admin")).to_have_count(0)

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.locator("app-header").get_by_role("link", name="Admin").click()
    expect(page).to_have_url(re.compile(r"/admin$"))
    page.get_by_label("Search users").fill(email)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("admin-page").get_by_role("status").first).to_have_text(
        f"1 user matches “{email}”"
    )
    users = page.get_by_role("region", name="Users", exact=True)
    row = users.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("Active")

    row.get_by_role("button", name=f"Manage {email}").click()
    details = page.get_by_role("region", name=email)
    expect(details.get_by_role("heading", name=email)).to_be_focused()
    page.once("dialog", lambda dialog: dialog.accept())
    details.get_by_role("button", name="Deactivate").click()
    expect(details.get_by_role("status")).to_have_text(f"{email} is deactivated.")
    expect(row).to_contain_text("Deactivated")
    expect(details.get_by_role("button", name="Reactivate")).to_be_visible()
    screenshot(page, "admin-users")

    details.get_by_role("button", name="Show their audit events").click()
    audit = page.get_by_role("region", name="Audit trail", exact=True)
    expect(audit.get_by_text(f"by or about {email}")).to_be_visible()
    deactivated = audit.get_by_role("row").filter(has_text="User deactivated")
    expect(deactivated).to_contain_text(ADMIN_EMAIL)  # by
    expect(deactivated).to_contain_text(email)  # about
    screenshot(page, "admin-audit")

    # The same events filtered by kind through the form, the user named by email.
    audit.get_by_role("combobox", name="Event").select_option(label="User deactivated")
    audit.get_by_role("button", name="Filter").click()
    expect(audit.get_by_role("status")).to_have_text(f"1 event by or about {email}")

    # The member's open session is refused at their very next request.
    member.get_by_label("Title").fill("Written after deactivation")
    member.get_by_role("button", name="Add item").click()
    expect(member).to_have_url(re.compile(r"/login$"))
    # Signing in again, they read why, and are offered no confirmation email (issue 30).
    sign_in(member, email)
    expect(member.get_by_role("alert")).to_have_text(
        "This account is deactivated. Ask the administrator of this site to reactivate it."
    )
    expect(member.get_by_role("button", name="Send the confirmation link again")).to_have_count(0)
    screenshot(member, "sign-in-deactivated")
    member_context.close()


def test_a_member_is_refused_the_admin_page_without_asking_the_api(
    page: Page, inbox: Inbox
) -> None:
    email = create_account(page.request, inbox)
    sign_in(page, email)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
    expect(page.locator("app-header").get_by_role("link", name="Admin")).to_have_count(0)

    admin_requests: list[str] = []
    page.on("request", lambda r: admin_requests.append(r.url) if "/api/v1/admin" in r.url else None)
    page.goto("/admin")
    expect(page.get_by_role("alert")).to_have_text("You do not have access to this page.")
    assert admin_requests == []
    screenshot(page, "admin-refused")


@pytest.mark.skipif("E2E_BASE_URL" in os.environ, reason="needs the API's only admin")
def test_the_last_admin_is_told_why_they_cannot_deactivate_themself(page: Page) -> None:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.locator("app-header").get_by_role("link", name="Admin").click()
    page.get_by_label("Search users").fill(ADMIN_EMAIL)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name=f"Manage {ADMIN_EMAIL}").click()
    details = page.get_by_role("region", name=ADMIN_EMAIL)
    page.once("dialog", lambda dialog: dialog.accept())
    details.get_by_role("button", name="Deactivate").click()
    expect(details.get_by_role("alert")).to_have_text(LAST_ADMIN)
    expect(details).to_contain_text("Active")
    expect(page.locator("app-header").get_by_role("link", name="Admin")).to_be_visible()


@pytest.mark.skipif("E2E_BASE_URL" in os.environ, reason="needs the API's only admin")
def test_the_last_admin_is_told_why_they_cannot_delete_their_account(page: Page) -> None:
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(ADMIN_EMAIL)
    page.goto("/account")
    delete = page.locator("delete-account")
    page.on("dialog", lambda dialog: dialog.accept())
    delete.get_by_label("Confirm with your password").fill(ADMIN_PASSWORD)
    delete.get_by_role("button", name="Delete my account").click()
    expect(delete.get_by_role("alert")).to_have_text(LAST_ADMIN)
    screenshot(page, "last-admin-delete")
    expect(page).to_have_url(re.compile(r"/account$"))


def declared_kinds(path: Path) -> list[str]:
    """The strings of a module's KINDS tuple (names of its string constants), if it has one."""
    constants: dict[str, str] = {}
    kinds: list[str] = []
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, ast.Assign) or not isinstance(node.targets[0], ast.Name):
            continue
        name = node.targets[0].id
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            constants[name] = node.value.value
        elif name == "KINDS" and isinstance(node.value, ast.Tuple):
            kinds = [constants[item.id] for item in node.value.elts if isinstance(item, ast.Name)]
    return kinds


def test_the_admin_page_names_every_kind_of_audit_event() -> None:
    """The page's event filter lists exactly the backend's kinds: KINDS in app/audit/__init__.py
    and in every domain module that records events of its own."""
    app = BACKEND_DIR / "app"
    kinds = [kind for path in sorted(app.rglob("*.py")) for kind in declared_kinds(path)]
    page_source = (FRONTEND_DIR / "src" / "components" / "admin-page.js").read_text()
    listed = re.search(r"AUDIT_KINDS = \{(.*?)\};", page_source, re.DOTALL)
    assert listed, "admin-page.js has no AUDIT_KINDS"
    assert declared_kinds(app / "audit" / "__init__.py"), "audit/__init__.py has no KINDS"
    # A project without sign-in providers lists none of their events (issue 30).
    if not (app / "accounts" / "providers.py").exists():
        kinds = [kind for kind in kinds if "provider" not in kind]
    assert set(re.findall(r'"([a-z_.]+)":', listed.group(1))) == set(kinds)
