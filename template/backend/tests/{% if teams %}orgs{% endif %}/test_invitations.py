"""Invitations by email through a real SMTP server (aiosmtpd, in this process): the link is read
from the message as sent, then followed, by an address with an account and by one without."""

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from app.core.config import Settings
from tests.accounts.test_accounts import PUBLIC_URL, Inbox, Mail, inbox, sent_to_inbox
from tests.conftest import MakeApp, make_settings
from tests.orgs.helpers import add_member, new_org
from tests.utils import API, PASSWORD, Account, login, new_email, register, signup

__all__ = ["inbox"]  # the SMTP server fixture, from the accounts' tests

pytestmark = pytest.mark.anyio

INVITATION = re.compile(re.escape(PUBLIC_URL) + r"/invitations/accept\?token=([\w-]+)")


@pytest.fixture
async def mail(
    make_app: MakeApp, settings: Settings, inbox: tuple[Inbox, int]
) -> AsyncIterator[Mail]:
    """The app, mailing the test's SMTP server; sign-in needs a verified address."""
    handler, port = inbox
    overrides = {**sent_to_inbox(port), "require_verified_email": True}
    async with make_app(**overrides) as (_, client):
        yield Mail(client, make_settings(**{**settings.model_dump(), **overrides}), handler)


async def verified(mail: Mail) -> Account:
    """A new account whose address is verified (an admin's, say)."""
    client = mail.client
    email = await register(client)
    message = await mail.next_to(email)
    token = re.search(r"token=([\w-]+)", message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert token is not None
    verified = await client.post(f"{API}/auth/verify-email", json={"token": token.group(1)})
    assert verified.status_code == 200, verified.text
    tokens = await login(client, email)
    return Account(email, PASSWORD, tokens["access_token"], tokens["refresh_token"])


async def invite(client: AsyncClient, admin: Account, org_id: str, email: str, role: str) -> None:
    response = await client.post(
        f"{API}/orgs/{org_id}/invitations",
        json={"email": email, "role": role},
        headers=admin.headers,
    )
    assert response.status_code == 202, response.text


async def token_sent(mail: Mail, email: str, nth: int = 0) -> str:
    """The token of the `nth` invitation emailed to `email` (others, such as its verification
    link, may come in any order), its link checked in both parts of the message."""
    for _ in range(100):
        await mail.run_jobs()
        invitations = [
            message
            for message in mail.inbox.to(email)
            if INVITATION.search(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        ]
        if len(invitations) > nth:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no invitation #{nth + 1} to {email}")
    message = invitations[nth]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    found = INVITATION.search(text)
    assert found is not None
    assert found.group(0) in html
    assert message["Subject"].startswith("Join ")
    return found.group(1)


async def test_an_invitee_without_an_account_signs_up_from_the_link(mail: Mail) -> None:
    client = mail.client
    admin = await verified(mail)
    org_id = await new_org(client, admin, "Acme")
    await client.post(f"{API}/orgs/{org_id}/items", json={"title": "Plan"}, headers=admin.headers)
    email = new_email()
    await invite(client, admin, org_id, email, "member")
    token = await token_sent(mail, email)

    signed_up = await client.post(
        f"{API}/invitations/sign-up", json={"token": token, "password": PASSWORD}
    )
    assert signed_up.status_code == 201, signed_up.text
    headers = {"Authorization": f"Bearer {signed_up.json()['access_token']}"}
    me = await client.get(f"{API}/users/me", headers=headers)
    assert (me.json()["email"], me.json()["email_verified"]) == (email, True)
    # Verified by the link: signing in works where an unverified address is refused.
    await login(client, email)
    orgs = (await client.get(f"{API}/orgs", headers=headers)).json()["data"]
    assert [(org["name"], org["role"]) for org in orgs] == [
        ("Personal", "owner"),
        ("Acme", "member"),
    ]
    items = await client.get(f"{API}/orgs/{org_id}/items", headers=headers)
    assert [item["title"] for item in items.json()["data"]] == ["Plan"]
    # The link works once.
    again = await client.post(
        f"{API}/invitations/sign-up", json={"token": token, "password": PASSWORD}
    )
    assert again.status_code == 400


async def test_accepting_needs_the_invited_address_signed_in(mail: Mail) -> None:
    client = mail.client
    admin, invitee, someone_else = await verified(mail), await verified(mail), await verified(mail)
    org_id = await new_org(client, admin)
    await invite(client, admin, org_id, invitee.email, "admin")
    token = await token_sent(mail, invitee.email)

    accept = f"{API}/invitations/accept"
    refused = await client.post(accept, json={"token": token}, headers=someone_else.headers)
    assert refused.status_code == 403, refused.text
    assert (await client.post(accept, json={"token": token})).status_code == 401
    joined = await client.post(accept, json={"token": token}, headers=invitee.headers)
    assert joined.status_code == 200, joined.text
    assert (joined.json()["id"], joined.json()["role"]) == (org_id, "admin")
    me = await client.get(f"{API}/users/me", headers=invitee.headers)
    assert me.json()["email_verified"] is True  # the link reached the address
    again = await client.post(accept, json={"token": token}, headers=invitee.headers)
    assert again.status_code == 400
    # Signing up from a link whose address has an account: sign in instead.
    await invite(client, admin, org_id, someone_else.email, "member")
    token = await token_sent(mail, someone_else.email)
    taken = await client.post(
        f"{API}/invitations/sign-up", json={"token": token, "password": PASSWORD}
    )
    assert taken.status_code == 409


async def test_revoked_and_resent_links(mail: Mail) -> None:
    client = mail.client
    admin = await verified(mail)
    org_id = await new_org(client, admin)
    revoked_email, resent_email = new_email(), new_email()
    await invite(client, admin, org_id, revoked_email, "member")
    await invite(client, admin, org_id, resent_email, "member")
    revoked_token = await token_sent(mail, revoked_email)
    first_token = await token_sent(mail, resent_email)
    pending = await client.get(f"{API}/orgs/{org_id}/invitations", headers=admin.headers)
    by_email = {row["email"]: row["id"] for row in pending.json()["data"]}
    assert set(by_email) == {revoked_email, resent_email}

    url = f"{API}/orgs/{org_id}/invitations"
    revoked = await client.delete(f"{url}/{by_email[revoked_email]}", headers=admin.headers)
    assert revoked.status_code == 204
    resent = await client.post(f"{url}/{by_email[resent_email]}/resend", headers=admin.headers)
    assert resent.status_code == 202
    second_token = await token_sent(mail, resent_email, nth=1)
    assert second_token != first_token

    sign_up = f"{API}/invitations/sign-up"
    for dead in (revoked_token, first_token):
        response = await client.post(sign_up, json={"token": dead, "password": PASSWORD})
        assert response.status_code == 400, response.text
    response = await client.post(sign_up, json={"token": second_token, "password": PASSWORD})
    assert response.status_code == 201, response.text
    pending = await client.get(f"{API}/orgs/{org_id}/invitations", headers=admin.headers)
    assert pending.json()["count"] == 0


async def test_the_invite_answer_tells_nothing_of_the_address(mail: Mail) -> None:
    client = mail.client
    admin = await verified(mail)
    org_id = await new_org(client, admin)
    member = await add_member(client, org_id, account=await verified(mail))
    has_account, has_none = await register(client), new_email()
    answers = []
    for email in (has_account, has_none, member.email):
        response = await client.post(
            f"{API}/orgs/{org_id}/invitations",
            json={"email": email, "role": "member"},
            headers=admin.headers,
        )
        answers.append((response.status_code, response.json()["detail"].replace(email, "X")))
    assert len(set(answers)) == 1, answers
    await token_sent(mail, has_none)
    await token_sent(mail, has_account)
    # A member already: nothing is sent (their one email is their verification link).
    await mail.run_jobs()
    assert len(mail.inbox.to(member.email)) == 1


async def test_invitations_are_limited_per_organisation_per_hour(make_app: MakeApp) -> None:
    limits = {
        "rate_limit": {**make_settings().rate_limit.model_dump(), "invitations_per_org_per_hour": 2}
    }
    async with make_app(**limits) as (_, client):
        admin = await signup(client)
        org_id = await new_org(client, admin)
        other_org = await new_org(client, admin)
        url = f"{API}/orgs/{org_id}/invitations"
        for _ in range(2):
            body = {"email": new_email(), "role": "member"}
            assert (await client.post(url, json=body, headers=admin.headers)).status_code == 202
        refused = await client.post(
            url, json={"email": new_email(), "role": "member"}, headers=admin.headers
        )
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        # Another organisation counts on its own.
        other = await client.post(
            f"{API}/orgs/{other_org}/invitations",
            json={"email": new_email(), "role": "member"},
            headers=admin.headers,
        )
        assert other.status_code == 202
