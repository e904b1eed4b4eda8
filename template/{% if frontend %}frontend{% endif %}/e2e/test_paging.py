"""Paging in a real browser: a list reads 20 rows at a time (src/paged-list.js) and <page-nav>
moves between the pages the API counts; the items page here, the admin lists the same way."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from conftest import PASSWORD, Inbox, create_account, sign_in


def rows_shown(first: int, last: int, count: int) -> str:
    """What <page-nav> says between its buttons, such as "21 (en dash) 40 of 55"."""
    return f"{first}\N{EN DASH}{last} of {count}"


def test_items_are_read_twenty_at_a_time(page: Page, inbox: Inbox) -> None:
    email = create_account(page.request, inbox)
    tokens = page.request.post("/api/v1/auth/login", form={"username": email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    for number in range(1, 23):
        created = page.request.post(
            "/api/v1/items", data={"title": f"Item {number:02}"}, headers=headers
        )
        assert created.status == 201, created.text()

    sign_in(page, email)
    rows = page.locator("items-page").get_by_role("listitem")
    pages = page.get_by_role("navigation", name="Pages of items")
    expect(pages).to_contain_text(rows_shown(1, 20, 22))
    expect(rows).to_have_count(20)
    expect(pages.get_by_role("button", name="Previous")).to_be_disabled()

    pages.get_by_role("button", name="Next").click()
    expect(pages).to_contain_text(rows_shown(21, 22, 22))
    expect(rows).to_have_count(2)
    expect(pages.get_by_role("button", name="Next")).to_be_disabled()

    # Emptying the last page shows the page that is now the last: 20 rows, one page, no nav.
    page.on("dialog", lambda dialog: dialog.accept())
    rows.first.get_by_role("button", name="Delete").click()
    expect(pages).to_contain_text(rows_shown(21, 21, 21))
    rows.first.get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(20)
    expect(pages).to_have_count(0)
