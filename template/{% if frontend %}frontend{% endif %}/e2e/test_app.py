"""What a user does in the app, in a real browser, against the real API."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from conftest import (
    FRONTEND_DIR,
    PASSWORD,
    Inbox,
    WebServer,
    create_account,
    new_email,
    register_through_api,
    screenshot,
    sign_in,
    wait_for_service_worker,
)


def test_the_title_field_states_the_apis_limit_and_keeps_to_it(page: Page, inbox: Inbox) -> None:
    """Issue 30: the limit comes from the API (its 422 names it, from the model), and the form
    states it and stops typing there."""
    email = create_account(page.request, inbox)
    tokens = page.request.post("/api/v1/auth/login", form={"username": email, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    refused = page.request.post("/api/v1/items", data={"title": "t" * 1000}, headers=bearer)
    assert refused.status == 422, refused.text()
    (detail,) = refused.json()["detail"]
    limit = detail["ctx"]["max_length"]

    sign_in(page, email)
    expect(page.get_by_text("No items yet.")).to_be_visible()
    message = page.evaluate(
        """async (detail) => {
            const errors = await import(new URL("src/errors.js", document.baseURI));
            return errors.validationMessage(detail);
        }""",
        detail,
    )
    assert message == f"This title is too long: use at most {limit} characters."
    form = page.locator("item-form")
    expect(form.get_by_label("Title")).to_have_attribute("maxlength", str(limit))
    expect(form.get_by_text(f"Up to {limit} characters.")).to_be_visible()


def test_register_confirm_the_email_sign_in_and_manage_items(page: Page, inbox: Inbox) -> None:
    email = new_email()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    screenshot(page, "login")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Name (optional)").fill("Ada Lovelace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # The address must be confirmed before the first sign-in.
    expect(page.get_by_test_id("check-inbox")).to_contain_text(email)
    screenshot(page, "register-check-your-inbox")

    page.goto(inbox.link(email, "/verify-email"))
    expect(page.get_by_role("heading", name="Email address confirmed")).to_be_visible()
    screenshot(page, "verify-email-confirmed")
    page.locator("verify-email").get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Ada Lovelace")
    expect(page).to_have_url(re.compile(r"/items$"))

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, email)
    expect(page.get_by_text("No items yet.")).to_be_visible()

    page.get_by_label("Title").fill("Buy flour")
    page.get_by_label("Description").fill("Two kilos, for the bakery")
    page.get_by_role("button", name="Add item").click()
    item = page.get_by_role("listitem").filter(has_text="Buy flour")
    expect(item).to_contain_text("Two kilos, for the bakery")
    screenshot(page, "items-created")

    item.get_by_role("button", name="Edit").click()
    edited = page.get_by_role("listitem").first
    edited.get_by_label("Title").fill("Buy rye flour")
    edited.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Buy rye flour")).to_be_visible()
    page.reload()  # the change is stored by the API, not only shown
    expect(page.get_by_role("heading", name="Buy rye flour")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("listitem").filter(has_text="Buy rye flour").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.get_by_text("No items yet.")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/items")  # signed out: the items page sends you to sign in
    expect(page).to_have_url(re.compile(r"/login$"))


def test_a_wrong_password_shows_the_apis_error_as_a_sentence(page: Page) -> None:
    email = new_email()
    register_through_api(page.request, email)
    answer = page.request.post(
        "/api/v1/auth/login", form={"username": email, "password": "not-the-password-1"}
    )
    assert answer.status == 401
    detail = answer.json()["detail"].rstrip(".")
    sign_in(page, email, "not-the-password-2")
    expect(page.get_by_role("alert")).to_have_text(f"{detail}.")
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)


def test_registration_shows_readable_field_errors_inline(page: Page) -> None:
    page.goto("/register")
    page.get_by_label("Email").fill("not-an-address")
    page.get_by_label("Password").fill("short1")
    page.get_by_role("button", name="Create account").click()
    errors = page.locator(".field-error")
    # Not pydantic's "String should have at least 8 characters".
    expect(page.locator("label", has_text="Password").locator(".field-error")).to_have_text(
        "This password is too short. "
        "Use at least 8 characters, with letters and at least one digit or symbol."
    )
    expect(page.locator("label", has_text="Email").locator(".field-error")).to_have_text(
        "Enter an email address such as name@example.com."
    )
    expect(errors).to_have_count(2)
    screenshot(page, "register-field-error")


def test_an_expired_access_token_is_refreshed_once(
    browser: Browser, base_url: str, inbox: Inbox
) -> None:
    # No service worker here, so that page.route() sees every request the page makes.
    context = browser.new_context(base_url=base_url, service_workers="block")
    page = context.new_page()
    email = create_account(page.request, inbox)
    sign_in(page, email)
    expect(page.get_by_text("No items yet.")).to_be_visible()

    refreshes = []
    page.on(
        "request",
        lambda request: refreshes.append(request) if "/auth/refresh" in request.url else None,
    )

    def expired_token(route: Route) -> None:
        # The API itself answers 401, as it would once the access token has expired.
        route.continue_(headers={**route.request.headers, "authorization": "Bearer expired"})

    page.route("**/api/v1/items", expired_token, times=1)
    page.get_by_label("Title").fill("Saved after a refresh")
    page.get_by_role("button", name="Add item").click()
    expect(page.get_by_role("heading", name="Saved after a refresh")).to_be_visible()
    assert len(refreshes) == 1
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
    context.close()


@pytest.mark.skipif("E2E_BASE_URL" in os.environ, reason="stops its own web server")
def test_the_shell_loads_offline_with_the_offline_banner(
    page: Page, start_web_server: Callable[[], WebServer], inbox: Inbox
) -> None:
    server = start_web_server()  # its own nginx, which this test stops
    email = create_account(page.request, inbox)
    sign_in(page, email, base_url=server.url)
    page.get_by_label("Title").fill("Readable offline")
    page.get_by_role("button", name="Add item").click()
    expect(page.get_by_role("heading", name="Readable offline")).to_be_visible()
    expect(page.locator("offline-banner")).to_be_hidden()
    wait_for_service_worker(page)

    server.stop()
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("offline-banner")).to_be_visible()
    expect(page.get_by_role("heading", name="Your items")).to_be_visible()
    # The last list the API sent, from the service worker's cache.
    expect(page.get_by_role("heading", name="Readable offline")).to_be_visible()
    screenshot(page, "offline")


def test_the_service_worker_precaches_what_the_first_visit_loaded(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    wait_for_service_worker(page)
    missing = page.evaluate(
        """async () => {
            const loaded = performance.getEntriesByType("resource")
                .map((entry) => entry.name)
                .filter((url) => new URL(url).pathname.startsWith("/static/"));
            const shellName = (await caches.keys()).find((name) => name.startsWith("shell-"));
            const shell = await caches.open(shellName);
            const cached = new Set((await shell.keys()).map((request) => request.url));
            return loaded.filter((url) => !cached.has(url));
        }"""
    )
    assert not missing, f"list these in SHELL in frontend/sw.js: {missing}"


def test_the_csp_allows_the_import_map(page: Page) -> None:
    """nginx's Content-Security-Policy names the import map by hash: an edit must update both."""
    html = (FRONTEND_DIR / "index.html").read_text()
    import_map = re.search(r'<script type="importmap">(.*?)</script>', html, re.DOTALL)
    assert import_map, "frontend/index.html has no import map"
    digest = base64.b64encode(hashlib.sha256(import_map.group(1).encode()).digest()).decode()
    policy = page.request.get("/").headers["content-security-policy"]
    assert f"'sha256-{digest}'" in policy, (
        f"put 'sha256-{digest}' in script-src in nginx/security-headers.conf (it has: {policy})"
    )


def test_make_dev_serves_the_app_from_the_api(page: Page, make_dev_url: str, inbox: Inbox) -> None:
    """One process in development: the API serves the app, under the same CSP as nginx's."""
    email = create_account(page.request, inbox)
    sign_in(page, email, base_url=make_dev_url)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
    expect(page).to_have_url(f"{make_dev_url}/items")


def test_the_header_marks_the_page_you_are_on(page: Page) -> None:
    page.goto("/login")
    header = page.locator("app-header")
    sign_in_link = header.get_by_role("link", name="Sign in")
    register_link = header.get_by_role("link", name="Register")
    expect(sign_in_link).to_have_attribute("aria-current", "page")
    expect(register_link).not_to_have_attribute("aria-current", "page")
    # Seen, not only announced: the current page's link is underlined, the other is not.
    underline = "link => getComputedStyle(link).textDecorationLine"
    assert (sign_in_link.evaluate(underline), register_link.evaluate(underline)) == (
        "underline",
        "none",
    )
    register_link.click()
    expect(register_link).to_have_attribute("aria-current", "page")
    expect(sign_in_link).not_to_have_attribute("aria-current", "page")


def test_the_sign_in_card_has_as_much_room_above_as_below(page: Page) -> None:
    page.goto("/login")
    # Measured once the page is laid out: its module loads on first view, and the card grows as
    # the form arrives (a measure taken earlier saw the card without it, under load).
    expect(page.get_by_text("New here?")).to_be_visible()
    page.evaluate("document.fonts.ready.then(() => null)")
    card = page.locator(".card").bounding_box()
    heading = page.get_by_role("heading", name="Sign in").bounding_box()
    last_line = page.get_by_text("New here?").bounding_box()
    assert card and heading and last_line
    above = heading["y"] - card["y"]
    below = card["y"] + card["height"] - (last_line["y"] + last_line["height"])
    assert above == pytest.approx(below, abs=1)


def test_robots_txt_is_a_file_and_a_missing_file_is_a_404(page: Page, make_dev_url: str) -> None:
    """nginx and `make dev` alike: a path with a file extension is never answered with the app."""
    robots = (FRONTEND_DIR / "robots.txt").read_text()
    for origin in ("", make_dev_url):  # "": the test's nginx
        answer = page.request.get(f"{origin}/robots.txt")
        assert (answer.status, answer.text()) == (200, robots)
        assert answer.headers["content-type"].startswith("text/plain")
        for missing in ("/favicon.ico", "/sitemap.xml", "/src/main.js", "/items/report.pdf"):
            assert page.request.get(f"{origin}{missing}").status == 404, f"{origin}{missing}"
        page_answer = page.request.get(f"{origin}/items")
        assert page_answer.headers["content-type"].startswith("text/html")


def test_an_unknown_path_shows_not_found_and_head_of_a_page_answers(
    page: Page, make_dev_url: str
) -> None:
    """nginx and `make dev` alike: a mistyped address says so where it is, and HEAD / is 200."""
    for origin in ("", make_dev_url):  # "": the test's nginx
        assert page.request.head(f"{origin}/").status == 200, origin
        page.goto(f"{origin}/no-such-page")
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.get_by_text("/no-such-page")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/no-such-page$"))
        page.get_by_role("link", name="Back to the app").click()
        expect(page).to_have_url(re.compile(r"/login$"))


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_render_with_every_other_site_cut_off(
    page: Page, api_port: int, path: str
) -> None:
    """Swagger UI and ReDoc, offline: every request to another host fails, as with no network."""
    origin = f"http://127.0.0.1:{api_port}"
    title = page.request.get(f"{origin}/openapi.json").json()["info"]["title"]
    elsewhere: list[str] = []

    def this_api_only(route: Route) -> None:
        if route.request.url.startswith(f"{origin}/"):
            route.continue_()
            return
        # ReDoc's footer logo is the one image it asks for elsewhere, and hides when it fails.
        if route.request.resource_type != "image":
            elsewhere.append(route.request.url)
        route.abort()

    page.route("**/*", this_api_only)
    page.goto(f"{origin}{path}")
    expect(page.locator("h1, h2").filter(has_text=title).first).to_be_visible()
    screenshot(page, f"api-docs{path.replace('/', '-')}")
    assert not elsewhere, f"{path} asked other sites for {elsewhere}"
