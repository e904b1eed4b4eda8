import base64
import json
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event
from sqlmodel import col, select

from app import audit
from app.accounts import crud
from app.accounts.deps import api_rate_limit, get_current_user
from app.audit.models import AuditEvent
from app.core import security
from app.core.config import RateLimit, Settings
from app.core.security import create_token
from app.main import create_app
from tests.admin.test_permissions import api_routes
from tests.conftest import SECRET_KEY, MakeApp, MakeClient, make_settings
from tests.utils import API, PASSWORD, login, new_email, register, run_jobs, signup, solved

pytestmark = pytest.mark.anyio


async def test_register_creates_the_account_and_answers_without_it(client: AsyncClient) -> None:
    email = new_email()
    response = await client.post(
        f"{API}/auth/register",
        json={"email": email.upper(), "password": PASSWORD, "full_name": "Ada Lovelace"},
    )
    assert response.status_code == 201
    assert set(response.json()) == {"detail"}
    assert "password" not in response.text
    tokens = await login(client, email)
    me = await client.get(
        f"{API}/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["email"] == email  # stored lowercased
    assert me.json()["full_name"] == "Ada Lovelace"
    assert me.json()["is_active"] is True
    assert me.json()["email_verified"] is False


async def test_a_taken_email_gets_the_same_answer_whatever_its_case(client: AsyncClient) -> None:
    """No enumeration: the owner of a taken address gets an email, the requester the same 201."""
    fresh_email = new_email()
    fresh = await client.post(
        f"{API}/auth/register", json={"email": fresh_email, "password": PASSWORD}
    )
    account = await signup(client)
    taken = await client.post(
        f"{API}/auth/register", json={"email": account.email.upper(), "password": "other-pass-9"}
    )
    assert (taken.status_code, set(taken.json())) == (fresh.status_code, set(fresh.json()))
    # The same sentence, each with its own address.
    assert taken.json()["detail"].replace(account.email, "@") == fresh.json()["detail"].replace(
        fresh_email, "@"
    )
    await login(client, account.email)  # the owner's password still works, nothing else does
    refused = await client.post(
        f"{API}/auth/login", data={"username": account.email, "password": "other-pass-9"}
    )
    assert refused.status_code == 401


@pytest.mark.parametrize("password", ["short1!", "onlyletters", "1234567890", "x" * 129])
async def test_weak_password_is_422_with_a_message(client: AsyncClient, password: str) -> None:
    response = await client.post(
        f"{API}/auth/register", json={"email": new_email(), "password": password}
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "password"]
    assert error["msg"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"password": PASSWORD},
        {"email": "ada@example.com"},
        {"email": "ada@example.com", "password": PASSWORD, "full_name": "nul\x00byte"},
    ],
)
async def test_invalid_registration_is_422(client: AsyncClient, body: dict[str, str]) -> None:
    response = await client.post(f"{API}/auth/register", json=body)
    assert response.status_code == 422


async def test_login_returns_a_bearer_token_pair(client: AsyncClient) -> None:
    account = await signup(client)
    tokens = await login(client, account.email.upper())
    assert tokens["token_type"] == "bearer"
    me = await client.get(
        f"{API}/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == account.email


@pytest.mark.parametrize("who", ["wrong password", "unknown email"])
async def test_bad_credentials_are_401(client: AsyncClient, who: str) -> None:
    account = await signup(client)
    email = account.email if who == "wrong password" else new_email()
    password = "wrong-password-1" if who == "wrong password" else PASSWORD
    response = await client.post(
        f"{API}/auth/login", data={"username": email, "password": password}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_login_is_rate_limited_per_ip_and_email(
    client: AsyncClient, settings: Settings
) -> None:
    email = await register(client)
    limit = settings.rate_limit.login_per_minute
    statuses = []
    for _ in range(limit):
        response = await client.post(
            f"{API}/auth/login", data={"username": email, "password": "wrong-pass-1"}
        )
        statuses.append(response.status_code)
    assert statuses == [401] * limit
    # Even the right password waits for the window to end.
    refused = await client.post(f"{API}/auth/login", data={"username": email, "password": PASSWORD})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another email from the same address has its own budget.
    other = await client.post(
        f"{API}/auth/login", data={"username": new_email(), "password": PASSWORD}
    )
    assert other.status_code == 401


def client_at(app: FastAPI, address: str) -> AsyncClient:
    """A client connecting from `address` (what uvicorn reports, forwarded headers applied)."""
    transport = ASGITransport(app=app, client=(address, 50000))
    return AsyncClient(transport=transport, base_url="http://testserver")


async def login_status(client: AsyncClient, email: str, password: str) -> int:
    response = await client.post(
        f"{API}/auth/login", data={"username": email, "password": password}
    )
    return response.status_code


async def test_bad_tries_from_one_address_never_lock_the_owner_out_of_another(
    make_app: MakeApp, settings: Settings
) -> None:
    async with make_app() as (app, client):
        email = await register(client)
        async with (
            client_at(app, "203.0.113.7") as attacker,
            client_at(app, "198.51.100.1") as owner,
        ):
            for _ in range(settings.rate_limit.login_per_minute):
                assert await login_status(attacker, email, "wrong-pass-1") == 401
            assert await login_status(attacker, email, PASSWORD) == 429
            assert await login_status(owner, email, PASSWORD) == 200


async def test_guesses_from_many_addresses_never_lock_the_owner_out(make_app: MakeApp) -> None:
    """Past the email's cap on failures (from every address together) each address gets one try
    a minute at it: the guessers slow to one guess per address, and the owner's right password,
    from an address of their own, still signs in."""
    limits = {"login_per_minute": 2, "login_per_email_per_minute": 5}
    async with make_app(rate_limit=limits) as (app, client):
        email = await register(client)
        statuses = []
        for address in range(6):
            async with client_at(app, f"203.0.113.{address}") as guesser:
                statuses.append(await login_status(guesser, email, "wrong-pass-1"))
                if address == 5:  # past the cap: that address's one try was its last this minute
                    statuses.append(await login_status(guesser, email, "wrong-pass-2"))
        assert statuses == [401] * 6 + [429]
        async with client_at(app, "198.51.100.9") as owner:
            assert await login_status(owner, email, PASSWORD) == 200


async def test_failures_from_one_address_are_limited_whatever_the_emails(
    make_app: MakeApp,
) -> None:
    """Password spraying: one password tried on many accounts from one address."""
    limits = {"login_per_minute": 10, "login_failures_per_address_per_minute": 3}
    async with make_app(rate_limit=limits) as (app, client):
        accounts = [await register(client) for _ in range(5)]
        async with client_at(app, "203.0.113.50") as office:
            # Sign-ins that succeed are not failures: everyone behind one address signs in.
            assert [await login_status(office, email, PASSWORD) for email in accounts] == [200] * 5
            statuses = [await login_status(office, email, "Spring2026!") for email in accounts]
            assert statuses == [401] * 3 + [429] * 2
        async with client_at(app, "198.51.100.10") as elsewhere:
            assert await login_status(elsewhere, accounts[4], PASSWORD) == 200


async def test_a_limited_address_is_refused_before_hashing(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sign-in storm from one address, a new email each time: once the address is limited, no
    password of its is hashed (argon2 is the expensive part of a sign-in)."""
    hashed = []
    run = security.hashing.run

    async def counted(function: Callable[..., Any], *args: object) -> Any:
        hashed.append(function)
        return await run(function, *args)

    monkeypatch.setattr(security.hashing, "run", counted)
    limits = {"login_per_minute": 10, "login_failures_per_address_per_minute": 2}
    async with make_app(rate_limit=limits) as (app, _), client_at(app, "203.0.113.60") as storm:
        assert [await login_status(storm, new_email(), "guess-123") for _ in range(2)] == [401] * 2
        before = len(hashed)
        statuses = [await login_status(storm, new_email(), "guess-123") for _ in range(20)]
        assert statuses == [429] * 20
        assert len(hashed) == before


async def test_a_wrong_password_costs_the_same_whether_the_address_has_an_account(
    make_app: MakeApp,
) -> None:
    """The database work of a failed sign-in, statement by statement, tells nothing about the
    address: a known account's audit event is written by a job, off the request."""
    async with make_app() as (app, client):
        email = await register(client)
        done: list[str] = []
        # This test's requests only, not the jobs that the SQLite default runs meanwhile.
        measured: ContextVar[bool] = ContextVar("measured", default=False)
        measured.set(True)

        def executed(*args: Any) -> None:
            if measured.get():
                done.append(str(args[2]).split()[0].upper() if len(args) > 2 else "COMMIT")

        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", executed)
        event.listen(engine, "commit", executed)
        work = {}
        try:
            for who, address in (("an account", email), ("no account", new_email())):
                done.clear()
                assert await login_status(client, address, "wrong-pass-1") == 401
                work[who] = list(done)
        finally:
            event.remove(engine, "before_cursor_execute", executed)
            event.remove(engine, "commit", executed)
        assert work["an account"] == work["no account"], work
        # The event is recorded all the same, by the job.
        async with app.state.sessionmaker() as session:
            user = await crud.get_user_by_email(session, email)
            assert user is not None
        kinds: list[str] = []
        for _ in range(50):
            await run_jobs(client)
            async with app.state.sessionmaker() as session:
                rows = await session.exec(
                    select(AuditEvent.kind).where(col(AuditEvent.target_user_id) == user.id)
                )
                kinds = list(rows.all())
            if audit.SIGN_IN_FAILED in kinds:
                break
        assert audit.SIGN_IN_FAILED in kinds


def _segment(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: str, token_type: str = "access") -> dict[str, object]:
    return {"sub": user_id, "type": token_type, "jti": str(uuid.uuid4()), "iat": 1, "exp": 2**40}


def bad_tokens(user_id: str, refresh_token: str, access_token: str) -> dict[str, str]:
    header, payload, signature = access_token.split(".")
    someone_else = _segment(_claims(str(uuid.uuid4())))
    return {
        "expired": create_token(uuid.UUID(user_id), "access", timedelta(minutes=-1), SECRET_KEY)[0],
        "tampered payload": f"{header}.{someone_else}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[::-1]}",
        "wrong key": jwt.encode(_claims(user_id), "another-secret-" * 4, algorithm="HS256"),
        "wrong algorithm": jwt.encode(_claims(user_id), SECRET_KEY * 2, algorithm="HS512"),
        "alg none": f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(_claims(user_id))}.",
        "missing expiry": jwt.encode(
            {k: v for k, v in _claims(user_id).items() if k != "exp"}, SECRET_KEY, "HS256"
        ),
        "refresh token": refresh_token,
        "unknown user": jwt.encode(_claims(str(uuid.uuid4())), SECRET_KEY, algorithm="HS256"),
        "not a jwt": "not-a-jwt",
    }


BAD_TOKEN_CASES = [
    "expired",
    "tampered payload",
    "tampered signature",
    "wrong key",
    "wrong algorithm",
    "alg none",
    "missing expiry",
    "refresh token",
    "unknown user",
    "not a jwt",
]


@pytest.mark.parametrize("case", BAD_TOKEN_CASES)
async def test_bad_access_tokens_are_401(client: AsyncClient, case: str) -> None:
    account = await signup(client)
    me = await client.get(f"{API}/users/me", headers=account.headers)
    token = bad_tokens(me.json()["id"], account.refresh_token, account.access_token)[case]
    response = await client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_no_token_is_401(client: AsyncClient) -> None:
    response = await client.get(f"{API}/users/me")
    assert response.status_code == 401


async def test_refresh_rotates_and_a_used_refresh_token_is_refused(client: AsyncClient) -> None:
    account = await signup(client)
    first = await client.post(f"{API}/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    pair = first.json()
    assert pair["refresh_token"] != account.refresh_token
    me = await client.get(
        f"{API}/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert me.status_code == 200

    reused = await client.post(f"{API}/auth/refresh", json={"refresh_token": account.refresh_token})
    assert reused.status_code == 401
    # Reuse means a token leaked: the refresh token issued after it stops working too.
    after_reuse = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert after_reuse.status_code == 401


@pytest.mark.parametrize("case", ["access token", "expired", "not a jwt", "alg none"])
async def test_bad_refresh_tokens_are_401(client: AsyncClient, case: str) -> None:
    account = await signup(client)
    me = await client.get(f"{API}/users/me", headers=account.headers)
    user_id = me.json()["id"]
    token = {
        "access token": account.access_token,
        "expired": create_token(uuid.UUID(user_id), "refresh", timedelta(seconds=-1), SECRET_KEY)[
            0
        ],
        "not a jwt": "not-a-jwt",
        "alg none": f"{_segment({'alg': 'none'})}.{_segment(_claims(user_id, 'refresh'))}.",
    }[case]
    response = await client.post(f"{API}/auth/refresh", json={"refresh_token": token})
    assert response.status_code == 401


def test_every_signed_in_route_counts_against_the_api_limit_before_reading_the_user() -> None:
    unlimited = []
    for route in api_routes(create_app(make_settings())):
        calls = solved(route.dependant)
        if get_current_user not in calls:
            continue
        if api_rate_limit not in calls or calls.index(api_rate_limit) > calls.index(
            get_current_user
        ):
            unlimited.append(f"{sorted(route.methods)} {route.path}")
    assert unlimited == [], "declare dependencies=[ApiRateLimit] on these routes' router"


async def test_the_api_is_rate_limited_per_user(make_client: MakeClient) -> None:
    async with make_client(rate_limit=RateLimit(api_per_minute=3)) as client:
        account = await signup(client)
        other = await signup(client)
        statuses = [
            (await client.get(f"{API}/users/me", headers=account.headers)).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        refused = await client.get(f"{API}/items", headers=account.headers)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert (await client.get(f"{API}/users/me", headers=other.headers)).status_code == 200
