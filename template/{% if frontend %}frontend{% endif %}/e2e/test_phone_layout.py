"""Every page on a phone (390 x 844 CSS pixels): none scrolls sideways (issue 30). The pages are
read from src/routes.js, so a page added there is measured too; the signed-in ones as the admin,
with a title as long as the API takes and a user opened on the admin page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    FRONTEND_DIR,
    Inbox,
    create_account,
    screenshot,
    sign_in,
)

PHONE = {"width": 390, "height": 844}
# A route's path and who may open it; "/*" paths (a provider's callback) need its parameters.
ROUTE = re.compile(r'path: "(/[^"*]*)",\s*who: "(\w+)"')
NOT_FOUND = "/no-such-page"


def routes() -> list[tuple[str, str]]:
    found = ROUTE.findall((FRONTEND_DIR / "src" / "routes.js").read_text())
    assert len(found) >= 7, f"src/routes.js: only {found} read"
    return found


def assert_fits(page: Page, name: str) -> None:
    """The page as shown now is no wider than the screen."""
    expect(page.locator("main .card")).not_to_have_text("Loading…")
    page.wait_for_load_state("networkidle")
    width, screen = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= screen, f"{name} is {width} px wide on a {screen} px screen"


def test_no_page_scrolls_sideways_on_a_phone(browser: Browser, base_url: str, inbox: Inbox) -> None:
    context = browser.new_context(base_url=base_url, viewport=PHONE)
    page = context.new_page()
    member = create_account(page.request, inbox)  # a row in the admin's table, events in the trail
    signed_out = [path for path, who in routes() if who in {"guest", "anyone"}]
    for path in [*signed_out, NOT_FOUND]:
        page.goto(path)
        assert_fits(page, path)

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(ADMIN_EMAIL)
    title = page.locator("item-form").get_by_label("Title")
    title.fill("W" * int(title.get_attribute("maxlength") or 0))  # one word, as long as allowed
    page.get_by_role("button", name="Add item").click()
    expect(page.get_by_role("listitem").filter(has_text="W" * 40).first).to_be_visible()
    signed_in = [path for path, who in routes() if who in {"user", "admin", "anyone"}]
    for path in [*signed_in, NOT_FOUND]:
        page.goto(path)
        assert_fits(page, f"{path} (signed in)")

    page.goto("/admin")
    page.get_by_role("button", name=f"Manage {member}").click()
    expect(page.get_by_role("heading", name=member)).to_be_visible()
    assert_fits(page, "/admin with a user opened")
    screenshot(page, "phone-admin")
    context.close()
