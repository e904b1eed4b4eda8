import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from app.core.config import DbPool
from app.core.db import create_engine
from app.observability import health, metrics
from tests.conftest import MakeApp, MakeClient, make_settings
from tests.utils import API, closed_port, database_starting_up, metric, signup

pytestmark = pytest.mark.anyio


async def test_live(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_every_dependency(client: AsyncClient, redis_url: str | None) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok" if redis_url else "not configured"},
    }
    assert metric(await client.get("/metrics"), "dependency_up", dependency="database") == 1


async def test_ready_is_503_when_the_database_is_unreachable(make_client: MakeClient) -> None:
    unreachable = f"postgresql+asyncpg://app@127.0.0.1:{closed_port()}/app"
    async with make_client(database_url=unreachable) as client:
        response = await client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert response.json()["checks"]["database"] == "unavailable"
        assert (await client.get("/health/live")).status_code == 200
        # What the DatabaseDown alert watches.
        exposition = await client.get("/metrics")
        assert metric(exposition, "dependency_up", dependency="database") == 0


async def test_ready_is_200_and_degraded_when_only_redis_is_unreachable(
    make_client: MakeClient,
) -> None:
    """The API serves without Redis (fail open): it must stay in the rotation."""
    async with make_client(redis_url=f"redis://127.0.0.1:{closed_port()}/0") as client:
        response = await client.get("/health/ready")
        assert response.status_code == 200
        assert response.json() == {
            "status": "degraded",
            "checks": {"database": "ok", "redis": "degraded"},
        }
        assert metric(await client.get("/metrics"), "dependency_up", dependency="redis") == 0


@pytest.mark.parametrize("database", ["reachable", "unreachable"])
async def test_dependency_gauges_are_fresh_without_any_readiness_call(
    make_client: MakeClient, database: str
) -> None:
    """What the DatabaseDown alert watches, while probes only call /health/live (compose)."""
    unreachable = f"postgresql+asyncpg://app@127.0.0.1:{closed_port()}/app"
    overrides = {"database_url": unreachable} if database == "unreachable" else {}
    async with make_client(dependency_check_seconds=0.1, **overrides) as client:
        # A sample left by an earlier check of this process must be replaced by a fresh one.
        metrics.DEPENDENCY_UP.labels("database").set(-1)
        for _ in range(50):
            up = metric(await client.get("/metrics"), "dependency_up", dependency="database")
            if up != -1:
                break
            await asyncio.sleep(0.1)
        assert up == (1 if database == "reachable" else 0)


async def test_a_check_that_stops_waiting_leaves_the_ping_to_finish(tmp_path: Path) -> None:
    """A database slower than the check counts as down, but its ping is not cancelled halfway:
    SQLAlchemy's close of a cancelled aiosqlite connection could then wait forever, and the test
    run's event loop with it (a CI run hung so, on a busy machine)."""
    path = tmp_path / "busy.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("BEGIN EXCLUSIVE")  # readers wait for this writer (SQLite's busy timeout)
    engine = create_engine(make_settings(database_url=f"sqlite+aiosqlite:///{path}"))

    async def ping() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT count(*) FROM t"))

    before = asyncio.all_tasks()
    pings = health.Pings(timeout_seconds=0.2)
    try:
        assert await pings.check("database", ping) == "unavailable"
        writer.rollback()  # the database answers again
        await pings.close(within_seconds=10)
        assert await pings.check("database", ping) == "ok"
    finally:
        writer.close()
        await engine.dispose()
    assert asyncio.all_tasks() - before == set()


async def test_database_unreachable_is_503_with_retry_after(make_client: MakeClient) -> None:
    unreachable = f"postgresql+asyncpg://app@127.0.0.1:{closed_port()}/app"
    async with make_client(database_url=unreachable) as client:
        response = await client.post(
            f"{API}/auth/register", json={"email": "a@example.com", "password": "passw0rd!"}
        )
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) >= 1


async def test_a_database_starting_up_is_503_with_retry_after(make_client: MakeClient) -> None:
    """PostgreSQL coming back up refuses connections with an error, not a refused connection."""
    async with database_starting_up() as starting, make_client(database_url=starting) as client:
        response = await client.post(
            f"{API}/auth/login", data={"username": "a@example.com", "password": "passw0rd!"}
        )
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) >= 1
        assert (await client.get("/health/ready")).status_code == 503


async def test_an_exhausted_pool_sheds_with_503_fast(
    make_app: MakeApp, make_client: MakeClient
) -> None:
    """With every connection busy, a request waits db_pool.timeout_seconds, then gets 503."""
    # Signed up beforehand: with SQLite the sign-up's emails are jobs run in the app's process,
    # and on a busy machine they would hold the one connection past the sign-in's 0.2 s.
    async with make_client() as setup:
        account = await signup(setup)
    pool = DbPool(size=1, max_overflow=0, timeout_seconds=0.2)
    async with make_app(db_pool=pool) as (app, client):
        timeouts = metric(await client.get("/metrics"), "db_pool_timeouts_total")
        async with app.state.engine.connect() as held:
            await held.execute(text("SELECT 1"))
            started = time.perf_counter()
            response = await client.get(f"{API}/items", headers=account.headers)
            waited = time.perf_counter() - started
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert waited < 2
        assert metric(await client.get("/metrics"), "db_pool_timeouts_total") == timeouts + 1
        # The pool is free again: the next request is served.
        assert (await client.get(f"{API}/items", headers=account.headers)).status_code == 200
