"""The admin area: first admin, user lookup, roles, deactivation that takes effect at once, and an
audit trail written in the same transaction as each change."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlmodel import col, select, update

from app import audit
from app.accounts import crud
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from tests.conftest import MakeApp
from tests.utils import API, PASSWORD, Account, login, new_email, run_jobs, signup

pytestmark = pytest.mark.anyio

ADMIN_PASSWORD = "admin-horse-42"


@pytest.fixture
async def admin_app(make_app: MakeApp) -> AsyncIterator[tuple[AsyncClient, Account]]:
    """An app started with FIRST_ADMIN_EMAIL, and that admin signed in."""
    email = new_email()
    async with make_app(first_admin_email=email, first_admin_password=ADMIN_PASSWORD) as (
        _,
        client,
    ):
        tokens = await login(client, email, ADMIN_PASSWORD)
        yield (
            client,
            Account(email, ADMIN_PASSWORD, tokens["access_token"], tokens["refresh_token"]),
        )


async def events(settings: Settings, user_id: uuid.UUID) -> list[str]:
    engine = create_engine(settings, pooled=False)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.exec(
                select(AuditEvent.kind)
                .where(col(AuditEvent.target_user_id) == user_id)
                .order_by(col(AuditEvent.at))
            )
            return list(rows.all())
    finally:
        await engine.dispose()


async def only_admin(settings: Settings, admin_id: uuid.UUID) -> None:
    """Make `admin_id` the only admin of the shared test database (other tests make admins)."""
    engine = create_engine(settings, pooled=False)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.exec(
                update(User)
                .where(col(User.role) == "admin", col(User.id) != admin_id)
                .values(role="member")
            )
            await session.commit()
    finally:
        await engine.dispose()


async def me(client: AsyncClient, account: Account) -> dict:
    response = await client.get(f"{API}/users/me", headers=account.headers)
    return {"status": response.status_code, **(response.json() if response.is_success else {})}


async def test_the_first_admin_is_created_once_and_an_existing_account_promoted(
    make_app: MakeApp, settings: Settings
) -> None:
    email = new_email()
    for _ in range(2):  # a restart changes nothing
        async with make_app(first_admin_email=email, first_admin_password=ADMIN_PASSWORD) as (
            _,
            client,
        ):
            tokens = await login(client, email, ADMIN_PASSWORD)
            account = Account(
                email, ADMIN_PASSWORD, tokens["access_token"], tokens["refresh_token"]
            )
            profile = await me(client, account)
            assert profile["role"] == "admin"
            assert profile["email_verified"] is True
    created_once = [audit.FIRST_ADMIN, audit.SIGN_IN, audit.SIGN_IN]
    assert await events(settings, uuid.UUID(profile["id"])) == created_once

    async with make_app() as (_, client):
        member = await signup(client)
    async with make_app(first_admin_email=member.email.upper()) as (_, client):
        assert (await me(client, member))["role"] == "admin"
        await login(client, member.email, PASSWORD)  # the password is the member's own still


async def test_list_search_and_read_users(admin_app: tuple[AsyncClient, Account]) -> None:
    client, admin = admin_app
    member = await signup(client)
    found = await client.get(
        f"{API}/admin/users", params={"q": member.email.upper()}, headers=admin.headers
    )
    assert found.status_code == 200
    assert [user["email"] for user in found.json()["data"]] == [member.email]
    assert found.json()["count"] == 1
    wildcard = await client.get(f"{API}/admin/users", params={"q": "%"}, headers=admin.headers)
    assert wildcard.json()["count"] == 0  # % is a character to find, not a wildcard
    user_id = found.json()["data"][0]["id"]
    one = await client.get(f"{API}/admin/users/{user_id}", headers=admin.headers)
    assert one.json()["email"] == member.email
    missing = await client.get(f"{API}/admin/users/{uuid.uuid4()}", headers=admin.headers)
    assert missing.status_code == 404


async def test_deactivation_takes_effect_on_the_next_request_even_when_cached(
    admin_app: tuple[AsyncClient, Account], settings: Settings
) -> None:
    client, admin = admin_app
    member = await signup(client)
    await me(client, member)
    assert (await client.get(f"{API}/users/me", headers=member.headers)).headers["X-Cache"] == "HIT"
    user_id = (await me(client, member))["id"]
    off = await client.patch(
        f"{API}/admin/users/{user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert (await me(client, member))["status"] in {401, 403}
    refused = await client.post(
        f"{API}/auth/login", data={"username": member.email, "password": PASSWORD}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "account_deactivated"
    on = await client.patch(
        f"{API}/admin/users/{user_id}", json={"is_active": True}, headers=admin.headers
    )
    assert on.json()["is_active"] is True
    await login(client, member.email)
    assert await events(settings, uuid.UUID(user_id)) == [
        audit.REGISTERED, audit.SIGN_IN, audit.DEACTIVATED, audit.REACTIVATED, audit.SIGN_IN
    ]  # fmt: skip


NOT_OFFERED = [{"is_active": None}, {"role": "member", "is_active": None}, {"role": None},
               {"is_active": 0}, {"is_active": "no"}]  # fmt: skip


@pytest.mark.parametrize("body", NOT_OFFERED)
async def test_a_change_the_schema_does_not_offer_is_refused(
    admin_app: tuple[AsyncClient, Account], body: dict[str, object]
) -> None:
    client, admin = admin_app
    user_id = (await me(client, await signup(client)))["id"]
    changed = await client.patch(f"{API}/admin/users/{user_id}", json=body, headers=admin.headers)
    assert changed.status_code == 422, changed.text


@pytest.mark.parametrize("query", ["users?q=a%00b", "audit-events?kind=a%00b"])
async def test_a_nul_in_a_search_is_refused(
    admin_app: tuple[AsyncClient, Account], query: str
) -> None:
    client, admin = admin_app
    assert (await client.get(f"{API}/admin/{query}", headers=admin.headers)).status_code == 422


async def test_role_changes_and_the_last_admin_stays(
    admin_app: tuple[AsyncClient, Account], settings: Settings
) -> None:
    client, admin = admin_app
    admin_id = (await me(client, admin))["id"]
    await only_admin(settings, uuid.UUID(admin_id))
    for change in ({"role": "member"}, {"is_active": False}):
        refused = await client.patch(
            f"{API}/admin/users/{admin_id}", json=change, headers=admin.headers
        )
        assert refused.status_code == 409, change
        assert refused.json()["code"] == "last_admin"
    member = await signup(client)
    member_id = (await me(client, member))["id"]
    promoted = await client.patch(
        f"{API}/admin/users/{member_id}", json={"role": "admin"}, headers=admin.headers
    )
    assert promoted.json()["role"] == "admin"
    # The new admin's very next request has the role (the cached record was dropped).
    assert (await client.get(f"{API}/admin/users", headers=member.headers)).status_code == 200
    # Now there are two, the first may step down.
    down = await client.patch(
        f"{API}/admin/users/{admin_id}", json={"role": "member"}, headers=admin.headers
    )
    assert down.status_code == 200
    assert (await client.get(f"{API}/admin/users", headers=admin.headers)).status_code == 403
    trail = await client.get(
        f"{API}/admin/audit-events",
        params={"user_id": member_id, "kind": audit.ROLE_CHANGED},
        headers=member.headers,
    )
    assert [(e["kind"], e["detail"]) for e in trail.json()["data"]] == [
        (audit.ROLE_CHANGED, {"old": "member", "new": "admin"})
    ]
    assert trail.json()["data"][0]["actor_id"] == admin_id
    assert trail.json()["data"][0]["request_id"]


async def test_the_last_admin_cannot_delete_their_own_account(
    admin_app: tuple[AsyncClient, Account], settings: Settings
) -> None:
    client, admin = admin_app
    admin_id = (await me(client, admin))["id"]
    await only_admin(settings, uuid.UUID(admin_id))
    body = {"password": ADMIN_PASSWORD}
    refused = await client.post(f"{API}/users/me/delete", json=body, headers=admin.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json() == {
        "detail": "This is the last active admin: make another admin first.",
        "code": "last_admin",
    }
    assert (await me(client, admin))["role"] == "admin"
    # With another admin, the first may go.
    member = await signup(client)
    member_id = (await me(client, member))["id"]
    promoted = await client.patch(
        f"{API}/admin/users/{member_id}", json={"role": "admin"}, headers=admin.headers
    )
    assert promoted.status_code == 200, promoted.text
    deleted = await client.post(f"{API}/users/me/delete", json=body, headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    assert await active_admins(settings) == 1


async def active_admins(settings: Settings) -> int:
    engine = create_engine(settings, pooled=False)
    try:
        async with create_sessionmaker(engine)() as session:
            return await crud.count_active_admins(session)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("change", [{"role": "member"}, {"is_active": False}])
async def test_two_admins_stepping_each_other_down_at_once_leave_one(
    admin_app: tuple[AsyncClient, Account], settings: Settings, change: dict[str, object]
) -> None:
    """Each admin demotes (or deactivates) the other in the same instant, over and over: one
    change wins and the other is refused, never both."""
    client, first = admin_app
    first_id = (await me(client, first))["id"]
    await only_admin(settings, uuid.UUID(first_id))
    for _ in range(10):
        second = await signup(client)
        second_id = (await me(client, second))["id"]
        promoted = await client.patch(
            f"{API}/admin/users/{second_id}", json={"role": "admin"}, headers=first.headers
        )
        assert promoted.status_code == 200, promoted.text
        for account in (first, second):  # both at work: their records cached, as usual
            assert (await me(client, account))["role"] == "admin"
        answers = await asyncio.gather(
            client.patch(f"{API}/admin/users/{second_id}", json=change, headers=first.headers),
            client.patch(f"{API}/admin/users/{first_id}", json=change, headers=second.headers),
        )
        statuses = sorted(answer.status_code for answer in answers)
        refusals = [[200, 403], [200, 409]]
        if change == {"is_active": False}:
            # Deactivating signs out: a loser whose token is checked after the winner committed
            # is refused as signed out.
            refusals.append([200, 401])
        assert statuses in refusals, [a.text for a in answers]
        if 401 in statuses:
            assert [a.json()["code"] for a in answers if a.status_code == 401] == ["session_ended"]
        assert await active_admins(settings) == 1
        if answers[1].status_code == 200:  # the second admin won: the first steps back up
            first, second = second, first
            first_id, second_id = second_id, first_id


async def test_a_forced_reset_signs_the_user_out(admin_app: tuple[AsyncClient, Account]) -> None:
    client, admin = admin_app
    member = await signup(client)
    member_id = (await me(client, member))["id"]
    forced = await client.post(
        f"{API}/admin/users/{member_id}/password-reset", headers=admin.headers
    )
    assert forced.status_code == 202
    assert (await me(client, member))["status"] == 401
    resent = await client.post(f"{API}/admin/users/{member_id}/verification", headers=admin.headers)
    assert resent.status_code == 202


async def test_an_event_rolls_back_with_its_change(settings: Settings) -> None:
    engine = create_engine(settings, pooled=False)
    user = User(email=new_email(), hashed_password="x")
    try:
        async with create_sessionmaker(engine)() as session:
            session.add(user)
            audit.record(session, audit.ROLE_CHANGED, target_user_id=user.id, old="a", new="b")
            await session.flush()
            await session.rollback()  # the change failed: its event must not stay
    finally:
        await engine.dispose()
    assert await events(settings, user.id) == []


async def test_events_hold_no_password_or_token(
    admin_app: tuple[AsyncClient, Account], settings: Settings
) -> None:
    client, admin = admin_app
    member = await signup(client)
    await client.post(
        f"{API}/auth/login", data={"username": member.email, "password": "wrong-pass-1"}
    )
    await run_jobs(client)  # a job records the failed sign-in
    await client.post(
        f"{API}/users/me/password",
        json={"current_password": PASSWORD, "new_password": "newer-horse-55"},
        headers=member.headers,
    )
    trail = await client.get(
        f"{API}/admin/audit-events", headers=admin.headers, params={"limit": 100}
    )
    text = trail.text
    for secret in (
        PASSWORD,
        "wrong-pass-1",
        "newer-horse-55",
        member.access_token,
        member.refresh_token,
    ):
        assert secret not in text
    kinds = {event["kind"] for event in trail.json()["data"]}
    assert {audit.SIGN_IN_FAILED, audit.PASSWORD_CHANGED} <= kinds
