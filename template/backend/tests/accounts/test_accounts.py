"""The account flows end to end against a real SMTP server (aiosmtpd, in this process): the emails
are read as sent, and their links followed. On PostgreSQL the tests run the job worker that sends
them; with the SQLite default the API sends them itself."""

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY
from sqlalchemy import event, update

from app.accounts.models import AccountToken, User
from app.core.config import RateLimit, Settings
from app.core.db import utcnow
from app.core.security import hashing
from app.jobs.queue import open_queue, worker_options
from tests.conftest import MakeApp, make_settings
from tests.utils import API, PASSWORD, closed_port, login, new_email, register

pytestmark = pytest.mark.anyio

PUBLIC_URL = "https://app.example.test"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/(verify-email|reset-password)\?token=([\w-]+)")
NEW_PASSWORD = "another-horse-77"


class Inbox:
    """aiosmtpd's handler: every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.content  # type: ignore[attr-defined]
        self.messages.append(message_from_bytes(content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), closed_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


class Mail:
    """The app under test and its mail: `await mail.next_to(address)` waits for a new message."""

    def __init__(self, client: AsyncClient, settings: Settings, inbox: Inbox) -> None:
        self.client, self.settings, self.inbox = client, settings, inbox

    async def next_to(self, address: str, *, after: int = 0) -> EmailMessage:
        for _ in range(100):
            await self.run_jobs()
            if len(self.inbox.to(address)) > after:
                return self.inbox.to(address)[after]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no email #{after + 1} to {address}")

    async def none_to(self, address: str) -> bool:
        await self.run_jobs()
        await asyncio.sleep(0.3)  # the in-process worker (SQLite) had its chance
        return not self.inbox.to(address)

    async def run_jobs(self) -> None:
        """On PostgreSQL no worker runs inside the API: run one here until the queue is empty."""
        if self.settings.is_sqlite:
            return
        async with open_queue(self.settings) as queue:
            options = worker_options(self.settings, self.client._transport.app.state.sessionmaker)  # type: ignore[attr-defined]
            await queue.run_worker_async(**options, wait=False, install_signal_handlers=False)


def sent_to_inbox(port: int) -> dict[str, object]:
    """Settings that send mail to the test's SMTP server, with links to PUBLIC_URL."""
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": "none",
        "public_url": PUBLIC_URL,
    }


@pytest.fixture
async def mail(
    make_app: MakeApp, settings: Settings, inbox: tuple[Inbox, int]
) -> AsyncIterator[Mail]:
    handler, port = inbox
    overrides = {**sent_to_inbox(port), "require_verified_email": True}
    async with make_app(**overrides) as (_, client):
        yield Mail(client, make_settings(**{**settings.model_dump(), **overrides}), handler)


def link(message: EmailMessage) -> tuple[str, str]:
    """(page, token) of the message's link, which the plain text and the HTML both carry."""
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    found = LINK.search(text)
    assert found is not None, text
    assert found.group(0) in html
    return found.group(1), found.group(2)


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def registered_and_verified(mail: Mail, password: str = PASSWORD) -> str:
    email = new_email()
    await mail.client.post(f"{API}/auth/register", json={"email": email, "password": password})
    _, token = link(await mail.next_to(email))
    verified = await mail.client.post(f"{API}/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    return email


async def test_register_verify_then_sign_in(mail: Mail) -> None:
    email = new_email()
    registered = await mail.client.post(
        f"{API}/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201
    refused = await mail.client.post(
        f"{API}/auth/login", data={"username": email, "password": PASSWORD}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_not_verified"
    assert "Confirm your email address" in refused.json()["detail"]

    message = await mail.next_to(email)
    assert message["Subject"].startswith("Confirm your email address")
    page, token = link(message)
    assert page == "verify-email"
    verified = await mail.client.post(f"{API}/auth/verify-email", json={"token": token})
    assert verified.status_code == 200
    assert verified.json()["email_verified"] is True
    await login(mail.client, email)
    again = await mail.client.post(f"{API}/auth/verify-email", json={"token": token})
    assert again.status_code == 400  # single use


@pytest.mark.parametrize("tamper", ["flip", "truncate", "garbage", "too-long"])
async def test_a_tampered_link_is_refused(mail: Mail, tamper: str) -> None:
    email = new_email()
    await mail.client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
    _, token = link(await mail.next_to(email))
    bad = {
        "flip": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "truncate": token[:-2],
        "garbage": "not-a-token",
        "too-long": token * 4,
    }[tamper]
    response = await mail.client.post(f"{API}/auth/verify-email", json={"token": bad})
    assert response.status_code == (422 if tamper == "too-long" else 400)
    assert token not in response.text
    assert (await mail.client.post(f"{API}/auth/verify-email", json={"token": token})).is_success


async def test_an_expired_link_is_refused(mail: Mail) -> None:
    email = new_email()
    await mail.client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
    _, token = link(await mail.next_to(email))
    app = mail.client._transport.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as session:
        await session.exec(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    response = await mail.client.post(f"{API}/auth/verify-email", json={"token": token})
    assert response.status_code == 400


async def test_resend_mails_a_new_link_only_to_unverified_accounts(mail: Mail) -> None:
    email, unknown = new_email(), new_email()
    await mail.client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
    _, first = link(await mail.next_to(email))
    answers = [
        await mail.client.post(f"{API}/auth/verify-email/resend", json={"email": address})
        for address in (email, unknown)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json()["detail"].replace(email, "@") == answers[1].json()["detail"].replace(
        unknown, "@"
    )
    _, second = link(await mail.next_to(email, after=1))
    assert await mail.none_to(unknown)
    # Only the newest link works.
    assert (
        await mail.client.post(f"{API}/auth/verify-email", json={"token": first})
    ).status_code == 400
    assert (await mail.client.post(f"{API}/auth/verify-email", json={"token": second})).is_success


async def test_registering_a_taken_address_tells_its_owner(mail: Mail) -> None:
    email = await registered_and_verified(mail)
    again = await mail.client.post(
        f"{API}/auth/register", json={"email": email, "password": "other-pass-9"}
    )
    assert again.status_code == 201
    notice = await mail.next_to(email, after=1)
    assert "already have one" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_a_taken_address_registers_with_the_same_work_and_answer_as_a_new_one(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the request does for a new address and for a taken one: the same password hashing,
    the same SQL statements, the same answer (what differs, the owner's email, is a job's)."""
    hashes: list[str] = []
    statements: list[str] = []
    run = hashing.run

    async def counted(function: object, *args: object) -> object:
        hashes.append(getattr(function, "__name__", repr(function)))
        return await run(function, *args)  # type: ignore[arg-type]

    def executed(*args: object) -> None:
        statements.append(str(args[2]))  # (conn, cursor, statement, ...)

    monkeypatch.setattr(hashing, "run", counted)
    async with make_app() as (app, client):
        taken = await register(client)  # also warms the pool and the hasher up
        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", executed)
        try:
            seen = {}
            for case, email in (("new", new_email()), ("taken", taken)):
                hashes.clear()
                statements.clear()
                body = {"email": email, "password": "other-pass-9"}
                answer = await client.post(f"{API}/auth/register", json=body)
                headers = {k: v for k, v in answer.headers.items() if k != "x-request-id"}
                shown = (answer.status_code, answer.text.replace(email, "@"), headers)
                seen[case] = (shown, list(hashes), list(statements))
        finally:
            event.remove(engine, "before_cursor_execute", executed)
    assert seen["new"][0] == seen["taken"][0]  # status, body, headers
    assert seen["new"][1] == seen["taken"][1] == ["hash"]
    assert seen["new"][2] == seen["taken"][2], seen


async def test_password_reset_signs_out_everywhere_and_works_once(mail: Mail) -> None:
    email = await registered_and_verified(mail)
    old = await login(mail.client, email)
    unknown = new_email()
    answers = [
        await mail.client.post(f"{API}/auth/password-reset/request", json={"email": address})
        for address in (email, unknown)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert await mail.none_to(unknown)
    page, token = link(await mail.next_to(email, after=1))
    assert page == "reset-password"

    weak = await mail.client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": "short"}
    )
    assert weak.status_code == 422
    reset = await mail.client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 200
    # Every old session is over: its access token at once, its refresh token for good.
    assert (await mail.client.get(f"{API}/users/me", headers=bearer(old))).status_code == 401
    refreshed = await mail.client.post(
        f"{API}/auth/refresh", json={"refresh_token": old["refresh_token"]}
    )
    assert refreshed.status_code == 401
    await login(mail.client, email, NEW_PASSWORD)
    reused = await mail.client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "new_password": PASSWORD}
    )
    assert reused.status_code == 400


async def reset_link(mail: Mail, email: str, *, after: int) -> str:
    asked = await mail.client.post(f"{API}/auth/password-reset/request", json={"email": email})
    assert asked.status_code == 202, asked.text
    page, token = link(await mail.next_to(email, after=after))
    assert page == "reset-password"
    return token


async def reset_with(mail: Mail, token: str, password: str) -> int:
    body = {"token": token, "new_password": password}
    return (await mail.client.post(f"{API}/auth/password-reset/confirm", json=body)).status_code


@pytest.mark.parametrize("change", ["password changed", "signed out everywhere"])
async def test_a_reset_link_dies_when_the_password_or_the_sessions_change(
    mail: Mail, change: str
) -> None:
    email = await registered_and_verified(mail)
    tokens = await login(mail.client, email)
    token = await reset_link(mail, email, after=1)
    if change == "password changed":
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        changed = await mail.client.post(
            f"{API}/users/me/password", json=body, headers=bearer(tokens)
        )
    else:
        changed = await mail.client.post(f"{API}/auth/logout-all", headers=bearer(tokens))
    assert changed.is_success, changed.text
    # Whoever holds the old link (a copy of the mailbox, a shared screen) sets no password with it.
    assert await reset_with(mail, token, "third-horse-99") == 400
    refused = await mail.client.post(
        f"{API}/auth/login", data={"username": email, "password": "third-horse-99"}
    )
    assert refused.status_code == 401
    # A link asked for afterwards works.
    assert await reset_with(mail, await reset_link(mail, email, after=2), "third-horse-99") == 200


async def test_a_reset_link_sent_to_the_old_address_dies_with_it(mail: Mail) -> None:
    email, new = await registered_and_verified(mail), new_email()
    tokens = await login(mail.client, email)
    token = await reset_link(mail, email, after=1)
    asked = await mail.client.post(
        f"{API}/users/me/email",
        json={"new_email": new, "password": PASSWORD},
        headers=bearer(tokens),
    )
    assert asked.status_code == 202, asked.text
    _, change = link(await mail.next_to(new))
    assert (await mail.client.post(f"{API}/auth/verify-email", json={"token": change})).is_success
    # The old address (maybe a mailbox its owner no longer controls) resets nothing now.
    assert await reset_with(mail, token, "third-horse-99") == 400
    await login(mail.client, new)


@pytest.mark.parametrize(
    ("link_for", "change"),
    [("reset", "address"), ("reset", "session version"), ("verify", "address")],
)
async def test_a_link_is_bound_to_the_address_and_sessions_it_was_sent_for(
    mail: Mail, link_for: str, change: str
) -> None:
    """A link names the address and the session version it was made for: once either differs,
    it is refused, even where nothing revoked it (a founder's own code changing the account)."""
    if link_for == "reset":
        email = await registered_and_verified(mail)
        token = await reset_link(mail, email, after=1)
    else:
        email = await register(mail.client)
        _, token = link(await mail.next_to(email))
    values = (
        {"email": new_email()}
        if change == "address"
        else {"session_version": User.session_version + 1}
    )
    app = mail.client._transport.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as session:
        await session.exec(update(User).where(User.email == email).values(**values))  # type: ignore[call-overload]
        await session.commit()
    if link_for == "reset":
        assert await reset_with(mail, token, "third-horse-99") == 400
    else:
        used = await mail.client.post(f"{API}/auth/verify-email", json={"token": token})
        assert used.status_code == 400, used.text


async def test_change_password_keeps_this_session_only(mail: Mail) -> None:
    email = await registered_and_verified(mail)
    other, this = await login(mail.client, email), await login(mail.client, email)
    wrong = await mail.client.post(
        f"{API}/users/me/password",
        json={"current_password": "not-it-123", "new_password": NEW_PASSWORD},
        headers=bearer(this),
    )
    assert wrong.status_code == 400
    changed = await mail.client.post(
        f"{API}/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(this),
    )
    assert changed.status_code == 200
    assert (await mail.client.get(f"{API}/users/me", headers=bearer(changed.json()))).is_success
    # The other browser is told why, in a code its page words (frontend/src/errors.js).
    stale = await mail.client.get(f"{API}/users/me", headers=bearer(other))
    assert (stale.status_code, stale.json()["code"]) == (401, "session_ended")
    ended = await mail.client.post(
        f"{API}/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert (ended.status_code, ended.json()["code"]) == (401, "session_ended")
    await login(mail.client, email, NEW_PASSWORD)


async def test_change_email_confirms_the_new_address_and_tells_the_old(mail: Mail) -> None:
    email, new = await registered_and_verified(mail), new_email()
    tokens = await login(mail.client, email)
    asked = await mail.client.post(
        f"{API}/users/me/email",
        json={"new_email": new, "password": PASSWORD},
        headers=bearer(tokens),
    )
    assert asked.status_code == 202
    notice = await mail.next_to(email, after=1)
    assert new in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    _, token = link(await mail.next_to(new))
    confirmed = await mail.client.post(f"{API}/auth/verify-email", json={"token": token})
    assert confirmed.json()["email"] == new
    await login(mail.client, new)
    gone = await mail.client.post(
        f"{API}/auth/login", data={"username": email, "password": PASSWORD}
    )
    assert gone.status_code == 401


async def test_sign_out_and_sign_out_everywhere(mail: Mail) -> None:
    email = await registered_and_verified(mail)
    one, two = await login(mail.client, email), await login(mail.client, email)
    out = await mail.client.post(f"{API}/auth/logout", json={"refresh_token": one["refresh_token"]})
    assert out.status_code == 204
    dead = await mail.client.post(
        f"{API}/auth/refresh", json={"refresh_token": one["refresh_token"]}
    )
    assert dead.status_code == 401
    everywhere = await mail.client.post(f"{API}/auth/logout-all", headers=bearer(two))
    assert everywhere.status_code == 204
    assert (await mail.client.get(f"{API}/users/me", headers=bearer(two))).status_code == 401
    gone = await mail.client.post(
        f"{API}/auth/refresh", json={"refresh_token": two["refresh_token"]}
    )
    assert gone.status_code == 401


async def test_export_then_delete_my_account(mail: Mail) -> None:
    email = await registered_and_verified(mail)
    tokens = await login(mail.client, email)
    await mail.client.post(f"{API}/items", json={"title": "mine"}, headers=bearer(tokens))
    export = await mail.client.get(f"{API}/users/me/export", headers=bearer(tokens))
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    assert export.json()["user"]["email"] == email
    assert [item["title"] for item in export.json()["items"]] == ["mine"]
    assert "password" not in export.text

    wrong = await mail.client.post(
        f"{API}/users/me/delete", json={"password": "not-it-123"}, headers=bearer(tokens)
    )
    assert wrong.status_code == 400
    deleted = await mail.client.post(
        f"{API}/users/me/delete", json={"password": PASSWORD}, headers=bearer(tokens)
    )
    assert deleted.status_code == 204
    assert (await mail.client.get(f"{API}/users/me", headers=bearer(tokens))).status_code == 401
    again = await mail.client.post(
        f"{API}/auth/login", data={"username": email, "password": PASSWORD}
    )
    assert again.status_code == 401


async def test_requests_that_send_email_are_limited_per_address(make_app: MakeApp) -> None:
    limits = RateLimit(account_per_minute=3)
    async with make_app(rate_limit=limits) as (_, client):
        answers = [
            await client.post(f"{API}/auth/password-reset/request", json={"email": new_email()})
            for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [202, 202, 202, 429]
        assert int(answers[3].headers["Retry-After"]) >= 1


async def test_many_requesters_neither_flood_a_mailbox_nor_lock_its_owner_out(
    make_app: MakeApp, settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    """Reset requests for one address from many addresses: past the email's cap each is answered
    as usual and sends nothing; the owner, asking too, is not refused and has a working link."""
    handler, port = inbox
    overrides = {
        **sent_to_inbox(port),
        "rate_limit": RateLimit(account_per_minute=100, account_per_email_per_minute=2),
    }
    async with make_app(**overrides) as (app, client):
        mail = Mail(client, make_settings(**{**settings.model_dump(), **overrides}), handler)
        email = await registered_and_verified(mail)  # its verification email: one of the cap
        statuses = []
        for address in range(4):
            transport = ASGITransport(app=app, client=(f"203.0.113.{address}", 50000))
            async with AsyncClient(transport=transport, base_url="http://testserver") as someone:
                body = {"email": email}
                response = await someone.post(f"{API}/auth/password-reset/request", json=body)
                statuses.append(response.status_code)
        assert statuses == [202] * 4
        _, token = link(await mail.next_to(email, after=1))
        assert await mail.none_to(new_email())
        assert len(handler.to(email)) == 2  # the verification and one reset link: then quiet
        # The owner's own request is answered the same, and the link they have works.
        owner = await client.post(f"{API}/auth/password-reset/request", json={"email": email})
        assert owner.status_code == 202
        assert await reset_with(mail, token, NEW_PASSWORD) == 200


async def test_a_mail_server_down_fails_the_job_not_the_request(
    make_app: MakeApp, settings: Settings
) -> None:
    overrides = {"smtp_host": "127.0.0.1", "smtp_port": closed_port(), "smtp_tls": "none"}
    name = "app.accounts.jobs.send_verification"
    before = REGISTRY.get_sample_value("jobs_total", {"task": name, "outcome": "retried"}) or 0
    async with make_app(**overrides) as (_, client):
        response = await client.post(
            f"{API}/auth/register", json={"email": new_email(), "password": PASSWORD}
        )
        assert response.status_code == 201  # answered at once: the email is a job's business
        mail = Mail(client, make_settings(**{**settings.model_dump(), **overrides}), Inbox())
        for _ in range(50):
            await mail.run_jobs()
            after = REGISTRY.get_sample_value("jobs_total", {"task": name, "outcome": "retried"})
            if (after or 0) > before:
                break
            await asyncio.sleep(0.1)
    assert (after or 0) > before  # refused by the server: retried later, with backoff


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="the SQLite default only")
async def test_without_smtp_the_email_goes_to_the_log(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    def mailed() -> list[str]:
        # The mail's own records: the job queue's log names the address too.
        return [r.getMessage() for r in caplog.records if r.name == "app.mail"]

    async with make_app(smtp_host=None, public_url=PUBLIC_URL) as (_, client):
        email = new_email()
        with caplog.at_level("INFO", logger="app.mail"):
            await client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
            for _ in range(50):
                if any(email in message for message in mailed()):
                    break
                await asyncio.sleep(0.1)
    logged = next(message for message in mailed() if email in message)
    assert "SMTP_HOST is unset" in logged
    assert f"{PUBLIC_URL}/verify-email?token=" in logged
