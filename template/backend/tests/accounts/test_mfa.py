"""Two-step sign-in with an authenticator app, driven by pyotp as the app: setup, the second step
of a sign-in, replays, the window's edges, recovery codes, the limits on guessing, and the email
notices, read from a real SMTP server (aiosmtpd, as in test_accounts.py)."""

import time
import uuid

import pyotp
import pytest
from httpx import AsyncClient
from sqlmodel import col, select, update

from app.accounts.mfa_models import TotpFactor
from app.audit.models import AuditEvent
from tests.accounts import test_accounts
from tests.accounts.test_accounts import Mail, registered_and_verified
from tests.utils import API, PASSWORD, Account, login, signup

pytestmark = pytest.mark.anyio

# The SMTP server and the app that mails it, from the account flows' tests.
inbox, mail = test_accounts.inbox, test_accounts.mail
MFA = f"{API}/users/me/mfa"


def steady_clock() -> float:
    """Now, with at least 5 seconds left in the current 30-second step: codes worked out from it
    are still the ones the server expects when the requests arrive."""
    now = time.time()
    if now % 30 > 25:
        time.sleep(30 - now % 30 + 0.1)
        now = time.time()
    return now


def code(secret: str, offset: int = 0, at: float | None = None) -> str:
    """The app's code `offset` steps from now."""
    return pyotp.TOTP(secret).at(at or time.time(), counter_offset=offset)


async def turn_on(
    client: AsyncClient, account: Account, offset: int = -1, at: float | None = None
) -> tuple[str, list[str]]:
    """Set the app up and confirm it with the code `offset` steps from now, or from `at` (the step
    before, by default, so the current step's and the next one's are left for the sign-ins to
    come): (secret, recovery codes)."""
    setup = await client.post(f"{MFA}/totp", headers=account.headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    confirmed = await client.post(
        f"{MFA}/totp/confirm",
        headers=account.headers,
        json={"code": code(secret, offset, at or steady_clock())},
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def confirmed_long_ago(client: AsyncClient, account: Account) -> tuple[str, list[str]]:
    """turn_on, as if the confirming code were from long ago: every code of the window is new."""
    secret, recovery_codes = await turn_on(client, account)
    me = await client.get(f"{API}/users/me", headers=account.headers)
    app = client._transport.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as session:
        user_id = uuid.UUID(me.json()["id"])
        await session.exec(
            update(TotpFactor).where(col(TotpFactor.user_id) == user_id).values(last_step=0)
        )
        await session.commit()
    return secret, recovery_codes


async def first_step(client: AsyncClient, email: str, password: str = PASSWORD) -> str:
    """A password sign-in that owes its second step: the mfa_token."""
    answer = await login(client, email, password)
    assert answer.keys() == {"mfa_required", "mfa_token"}, answer
    assert answer["mfa_required"] is True
    return answer["mfa_token"]


async def verify(client: AsyncClient, mfa_token: str, **proof: str) -> tuple[int, dict]:
    response = await client.post(f"{API}/auth/mfa/verify", json={"mfa_token": mfa_token, **proof})
    return response.status_code, response.json()


async def test_setup_shows_the_secret_as_text_link_and_qr_code(client: AsyncClient) -> None:
    account = await signup(client)
    setup = await client.post(f"{MFA}/totp", headers=account.headers)
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == body["secret"]
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert body["qr_svg"].startswith("<svg") and "<path" in body["qr_svg"]
    # Not on until a code confirms it: signing in still takes the password alone.
    assert "access_token" in await login(client, account.email)
    wrong = await client.post(
        f"{MFA}/totp/confirm", headers=account.headers, json={"code": "000000"}
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "mfa_invalid_code"


async def test_a_sign_in_then_owes_a_code_and_the_code_gives_the_tokens(
    client: AsyncClient,
) -> None:
    account = await signup(client)
    secret, recovery_codes = await turn_on(client, account)
    assert len(recovery_codes) == len(set(recovery_codes)) == 10
    status = await client.get(MFA, headers=account.headers)
    assert status.json() == {"totp": True, "recovery_codes_left": 10}

    mfa_token = await first_step(client, account.email)
    status_code, tokens = await verify(client, mfa_token, code=code(secret, 0, steady_clock()))
    assert status_code == 200, tokens
    me = await client.get(
        f"{API}/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == account.email
    # The token worked once.
    status_code, again = await verify(client, mfa_token, code=code(secret, 1))
    assert (status_code, again["code"]) == (401, "mfa_expired")


async def test_a_used_code_is_refused(client: AsyncClient) -> None:
    account = await signup(client)
    secret, _ = await turn_on(client, account)
    used = code(secret, 0, steady_clock())
    assert (await verify(client, await first_step(client, account.email), code=used))[0] == 200
    status_code, refused = await verify(client, await first_step(client, account.email), code=used)
    assert (status_code, refused["code"]) == (400, "mfa_invalid_code")
    # So is an older one, still inside the window (the confirming code's step).
    older = code(secret, -1)
    status_code, _ = await verify(client, await first_step(client, account.email), code=older)
    assert status_code == 400


@pytest.mark.parametrize("offset", [-2, 2])
async def test_codes_outside_one_step_either_way_are_refused(
    client: AsyncClient, offset: int
) -> None:
    account = await signup(client)
    secret, _ = await confirmed_long_ago(client, account)
    now = steady_clock()
    mfa_token = await first_step(client, account.email)
    status_code, _ = await verify(client, mfa_token, code=code(secret, offset, now))
    assert status_code == 400


@pytest.mark.parametrize("offset", [-1, 0, 1])
async def test_codes_within_one_step_either_way_are_accepted(
    client: AsyncClient, offset: int
) -> None:
    account = await signup(client)
    secret, _ = await confirmed_long_ago(client, account)
    now = steady_clock()
    mfa_token = await first_step(client, account.email)
    status_code, tokens = await verify(client, mfa_token, code=code(secret, offset, now))
    assert status_code == 200, tokens
    assert tokens["token_type"] == "bearer"


async def test_a_recovery_code_works_once_and_new_codes_void_the_old(client: AsyncClient) -> None:
    account = await signup(client)
    _, recovery_codes = await turn_on(client, account)
    first = recovery_codes[0]
    # Case, dashes and spaces do not matter.
    typed = first.upper().replace("-", " ")
    status_code, _ = await verify(
        client, await first_step(client, account.email), recovery_code=typed
    )
    assert status_code == 200
    status_code, refused = await verify(
        client, await first_step(client, account.email), recovery_code=first
    )
    assert (status_code, refused["code"]) == (400, "mfa_invalid_code")
    status = await client.get(MFA, headers=account.headers)
    assert status.json()["recovery_codes_left"] == 9

    renewed = await client.post(f"{MFA}/recovery-codes", headers=account.headers)
    assert renewed.status_code == 200
    new_codes = renewed.json()["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(recovery_codes)
    status_code, _ = await verify(
        client, await first_step(client, account.email), recovery_code=recovery_codes[1]
    )
    assert status_code == 400
    status_code, _ = await verify(
        client, await first_step(client, account.email), recovery_code=new_codes[0]
    )
    assert status_code == 200


async def test_guessing_is_limited_per_sign_in_and_per_account(client: AsyncClient) -> None:
    account = await signup(client)
    secret, _ = await turn_on(client, account)
    mfa_token = await first_step(client, account.email)
    right = code(secret, 0, steady_clock())
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    for _ in range(5):
        assert (await verify(client, mfa_token, code=wrong))[0] == 400
    # Five wrong codes end this sign-in: even the right code is refused now.
    status_code, body = await verify(client, mfa_token, code=right)
    assert (status_code, body["code"]) == (401, "mfa_expired")
    # And the account's codes are limited whatever the sign-in: a new one waits too.
    response = await client.post(
        f"{API}/auth/mfa/verify",
        json={"mfa_token": await first_step(client, account.email), "code": right},
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


async def test_a_sign_out_everywhere_voids_a_pending_second_step(client: AsyncClient) -> None:
    account = await signup(client)
    secret, _ = await turn_on(client, account)
    mfa_token = await first_step(client, account.email)
    signed_out = await client.post(f"{API}/auth/logout-all", headers=account.headers)
    assert signed_out.status_code == 204
    status_code, body = await verify(client, mfa_token, code=code(secret, 0, steady_clock()))
    assert (status_code, body["code"]) == (401, "mfa_expired")


@pytest.mark.parametrize("proof", ["password", "code"])
async def test_turning_the_app_off_takes_the_password_or_a_code(
    client: AsyncClient, proof: str
) -> None:
    account = await signup(client)
    # Every code from one instant: the wrong one is then the confirming code, already used. Taken
    # after steady_clock() waited into the next step, it was a fresh one, and accepted.
    now = steady_clock()
    secret, _ = await turn_on(client, account, at=now)
    right = PASSWORD if proof == "password" else code(secret, 0, now)
    wrong = "not-the-password" if proof == "password" else code(secret, -1, now)
    refused = await client.request(
        "DELETE", f"{MFA}/totp", headers=account.headers, json={proof: wrong}
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "mfa_invalid_code")
    off = await client.request(
        "DELETE", f"{MFA}/totp", headers=account.headers, json={proof: right}
    )
    assert off.status_code == 204
    assert "access_token" in await login(client, account.email)
    again = await client.request(
        "DELETE", f"{MFA}/totp", headers=account.headers, json={"password": PASSWORD}
    )
    assert (again.status_code, again.json()["code"]) == (409, "mfa_not_on")


async def test_setting_up_twice_is_refused_while_the_app_is_on(client: AsyncClient) -> None:
    account = await signup(client)
    await turn_on(client, account)
    again = await client.post(f"{MFA}/totp", headers=account.headers)
    assert (again.status_code, again.json()["code"]) == (409, "mfa_already_on")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"password": PASSWORD, "code": "123456"},
        {"code": "12"},
        {"code": "abcdef"},
    ],
)
async def test_turning_off_needs_exactly_one_proof(client: AsyncClient, body: dict) -> None:
    account = await signup(client)
    response = await client.request("DELETE", f"{MFA}/totp", headers=account.headers, json=body)
    assert response.status_code == 422


async def test_every_change_is_audited_and_mailed_to_the_account(mail: Mail) -> None:
    email = await registered_and_verified(mail)
    tokens = await login(mail.client, email)
    account = Account(email, PASSWORD, tokens["access_token"], tokens["refresh_token"])
    notices = 1  # the verification link came first
    secret, recovery_codes = await turn_on(mail.client, account)
    changes = [
        ("on", "An authenticator app was turned on"),
        ("renew", "New recovery codes were made"),
        ("recovery", "A recovery code was used to sign in"),
        ("off", "The authenticator app was turned off"),
    ]
    for change, words in changes:
        if change == "renew":
            renewed = await mail.client.post(f"{MFA}/recovery-codes", headers=account.headers)
            recovery_codes = renewed.json()["recovery_codes"]
        elif change == "recovery":
            mfa_token = await first_step(mail.client, email)
            status_code, _ = await verify(mail.client, mfa_token, recovery_code=recovery_codes[0])
            assert status_code == 200
        elif change == "off":
            off = await mail.client.request(
                "DELETE", f"{MFA}/totp", headers=account.headers, json={"password": PASSWORD}
            )
            assert off.status_code == 204
        message = await mail.next_to(email, after=notices)
        notices += 1
        assert message["Subject"].endswith("sign-in settings changed")
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert words in text, text
        assert secret not in text and recovery_codes[1] not in text

    me = await mail.client.get(f"{API}/users/me", headers=account.headers)
    app = mail.client._transport.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as session:
        events = await session.exec(
            select(AuditEvent.kind)
            .where(col(AuditEvent.target_user_id) == uuid.UUID(me.json()["id"]))
            .where(col(AuditEvent.kind).contains(".mfa_"))
            .order_by(col(AuditEvent.at))
        )
        kinds = events.all()
    assert kinds == [
        "user.mfa_totp_enabled",
        "user.mfa_recovery_codes_renewed",
        "auth.mfa_recovery_code_used",
        "user.mfa_totp_disabled",
    ]
