"""`make dev`'s inbox: with ENVIRONMENT=local and SMTP_HOST unset, an email is a .eml file and a
link on /dev/inbox, which a person follows; production has no such page."""

import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from tests.conftest import MakeApp
from tests.utils import API, new_email, run_jobs

pytestmark = pytest.mark.anyio

LOCAL_URL = "http://127.0.0.1:8123"
VERIFY_LINK = re.compile(r'href="(http://127\.0\.0\.1:8123/verify-email\?token=([\w-]+))"')


async def test_a_local_email_is_a_file_and_a_link_on_the_inbox_page(
    make_app: MakeApp, tmp_path: Path
) -> None:
    inbox = tmp_path / "dev-inbox"
    async with make_app(
        environment="local", smtp_host=None, public_url=LOCAL_URL, dev_inbox_dir=inbox
    ) as (_, client):
        email = new_email()
        response = await client.post(
            f"{API}/auth/register", json={"email": email, "password": "horse-battery-77"}
        )
        assert response.status_code == 201, response.text
        for _ in range(50):
            await run_jobs(client)
            if list(inbox.glob("*.eml")):
                break
        (saved,) = inbox.glob("*.eml")
        message = BytesParser(policy=policy.default).parsebytes(saved.read_bytes())
        assert message["To"] == email

        page = await client.get("/dev/inbox")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert email in page.text
        link, token = VERIFY_LINK.search(page.text).groups()  # type: ignore[union-attr]
        assert link in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        verified = await client.post(f"{API}/auth/verify-email", json={"token": token})
        assert verified.status_code == 200, verified.text
        assert verified.json()["email_verified"] is True


async def test_an_empty_inbox_says_so(make_app: MakeApp, tmp_path: Path) -> None:
    async with make_app(environment="local", dev_inbox_dir=tmp_path / "none") as (_, client):
        page = await client.get("/dev/inbox")
    assert page.status_code == 200
    assert "No email yet." in page.text


@pytest.mark.parametrize("environment", ["production", "test"])
async def test_only_make_dev_has_the_inbox_page(make_app: MakeApp, environment: str) -> None:
    async with make_app(environment=environment) as (_, client):
        response = await client.get("/dev/inbox")
    assert response.status_code == 404
