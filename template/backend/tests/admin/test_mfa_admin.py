"""The admin side of two-step sign-in: an admin turns off a user's lost second factor (audited,
the user emailed), and REQUIRE_MFA_FOR_ADMINS keeps admins without one out of the admin area."""

import uuid

import pytest
from httpx import AsyncClient

from app.core.config import Settings
from tests.accounts import test_accounts
from tests.accounts.test_accounts import Mail, registered_and_verified, sent_to_inbox
from tests.accounts.test_mfa import code, first_step, steady_clock, turn_on, verify
from tests.admin.test_admin import ADMIN_PASSWORD, events
from tests.conftest import MakeApp, make_settings
from tests.utils import API, PASSWORD, Account, login, new_email, signup

pytestmark = pytest.mark.anyio

# The SMTP server of the account flows' tests.
inbox = test_accounts.inbox


def account(email: str, tokens: dict[str, str], password: str = PASSWORD) -> Account:
    return Account(email, password, tokens["access_token"], tokens["refresh_token"])


async def user_id(client: AsyncClient, who: Account) -> uuid.UUID:
    me = await client.get(f"{API}/users/me", headers=who.headers)
    return uuid.UUID(me.json()["id"])


async def test_an_admin_turns_off_a_users_lost_second_factor(
    make_app: MakeApp, settings: Settings, inbox: tuple[test_accounts.Inbox, int]
) -> None:
    handler, port = inbox
    admin_email = new_email()
    overrides = {
        **sent_to_inbox(port),
        "require_verified_email": True,
        "first_admin_email": admin_email,
        "first_admin_password": ADMIN_PASSWORD,
    }
    async with make_app(**overrides) as (_, client):
        mail = Mail(client, make_settings(**{**settings.model_dump(), **overrides}), handler)
        admin = account(admin_email, await login(client, admin_email, ADMIN_PASSWORD))
        email = await registered_and_verified(mail)
        user = account(email, await login(client, email))
        await turn_on(client, user)
        await mail.next_to(email, after=1)  # the notice that it is on, after the link
        await first_step(client, email)  # the password alone no longer signs in
        target = await user_id(client, user)

        reset = await client.post(f"{API}/admin/users/{target}/mfa-reset", headers=admin.headers)
        assert reset.status_code == 200, reset.text
        assert "access_token" in await login(client, email)  # the password alone, again
        status = await client.get(f"{API}/users/me/mfa", headers=user.headers)
        assert status.json() == {"totp": False, "recovery_codes_left": 0}
        assert (await events(mail.settings, target))[-2:] == ["admin.mfa_reset", "auth.sign_in"]
        notice = await mail.next_to(email, after=2)
        text = notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "An administrator turned off your two-step sign-in" in text

        missing = await client.post(
            f"{API}/admin/users/{uuid.uuid4()}/mfa-reset", headers=admin.headers
        )
        assert missing.status_code == 404


async def test_with_require_mfa_an_admin_needs_a_second_factor(make_app: MakeApp) -> None:
    admin_email = new_email()
    overrides = {
        "first_admin_email": admin_email,
        "first_admin_password": ADMIN_PASSWORD,
        "require_mfa_for_admins": True,
    }
    async with make_app(**overrides) as (_, client):
        admin = account(
            admin_email, await login(client, admin_email, ADMIN_PASSWORD), ADMIN_PASSWORD
        )
        refused = await client.get(f"{API}/admin/users", headers=admin.headers)
        assert refused.status_code == 403
        assert refused.json()["code"] == "mfa_required"
        # Their own account page still works: that is where they turn it on.
        secret, _ = await turn_on(client, admin)
        mfa_token = await first_step(client, admin_email, ADMIN_PASSWORD)
        status_code, tokens = await verify(client, mfa_token, code=code(secret, 0, steady_clock()))
        assert status_code == 200, tokens
        allowed = await client.get(
            f"{API}/admin/users", headers=account(admin_email, tokens).headers
        )
        assert allowed.status_code == 200, allowed.text
        # A member is refused for not being an admin, whatever their factors.
        member = await signup(client)
        forbidden = await client.get(f"{API}/admin/users", headers=member.headers)
        assert forbidden.status_code == 403
        assert "code" not in forbidden.json()
