"""The read replica (DATABASE_READ_URL): reads that tolerate lag (the cached list and single items
on a miss, the data export) go to it; a user's reads right after their own write, and every read
while it does not answer, go to the primary. The replica here is a second database on the test
server holding older rows than the primary, as a lagging streaming replica would."""

import asyncio
import logging
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import Table, make_url, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import create_async_engine

from app.accounts.models import User
from app.core.config import BACKEND_DIR
from app.items.models import Item
from tests.conftest import TEST_DATABASE_URL, MakeApp, make_settings
from tests.utils import API, Account, closed_port, database_starting_up, signup

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="a read replica is PostgreSQL's"),
]
# With teams an organisation's items are shared: one member's cache miss must not fill the cache
# with what the replica lacks of another member's write, so those reads stay on the primary.
SHARED_ITEMS = "org_id" in Item.model_fields


async def _on_server(database_url: str, statement: str) -> object:
    """`statement`'s first value (None if it returns no rows), run outside a transaction."""
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        result = await connection.execute(text(statement))
        value = result.scalar() if result.returns_rows else None
    await engine.dispose()
    return value


@pytest.fixture(scope="session")
def replica_url(database_url: str) -> Iterator[str]:
    """A second database on the test server, migrated like the primary, that rows reach only
    when a test copies them (`replicate`)."""
    # postgresql+asyncpg://, however TEST_DATABASE_URL spells it.
    database_url = make_settings(database_url=database_url).database_url
    primary = make_url(database_url)
    if asyncio.run(_on_server(database_url, "SELECT current_database()")) != primary.database:
        pytest.skip("TEST_DATABASE_URL names a pooler's database (PgBouncer's), not the server's")
    name = f"{primary.database}_replica"
    asyncio.run(_on_server(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_on_server(database_url, f'CREATE DATABASE "{name}"'))
    url = primary.set(database=name).render_as_string(hide_password=False)
    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.attributes["settings"] = make_settings(database_url=url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    yield url
    asyncio.run(_on_server(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def replicate(primary_url: str, replica_url: str, user_id: uuid.UUID) -> None:
    """The replica catches up with the user's record and items as the primary has them now."""
    source = create_async_engine(make_settings(database_url=primary_url).database_url)
    target = create_async_engine(replica_url)
    tables: list[tuple[Table, object]] = [
        (User.__table__, User.__table__.c.id),  # type: ignore[attr-defined]
        (Item.__table__, Item.__table__.c.owner_id),  # type: ignore[attr-defined]
    ]
    async with source.connect() as reading, target.begin() as writing:
        for table, owner in tables:
            rows = (await reading.execute(select(table).where(owner == user_id))).mappings().all()
            for row in rows:
                await writing.execute(insert(table).values(**row).on_conflict_do_nothing())
    await source.dispose()
    await target.dispose()


async def write_behind_the_replica(primary_url: str, user_id: uuid.UUID, title: str) -> str:
    """An item only the primary has (another process's write the replica has not received)."""
    engine = create_async_engine(make_settings(database_url=primary_url).database_url)
    item = Item(title=title, owner_id=user_id)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Item.__table__).values(item.model_dump())  # type: ignore[attr-defined]
        )
    await engine.dispose()
    return str(item.id)


async def until_the_write_is_old(app: FastAPI, user_id: uuid.UUID) -> None:
    """Wait out database_read_after_write_seconds, as the app sees it."""
    for _ in range(50):
        if not await app.state.cache.wrote_recently(user_id):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the write is still recent after 10 s")


async def titles(client: AsyncClient, account: Account) -> list[str]:
    response = await client.get(f"{API}/items", headers=account.headers)
    assert response.status_code == 200, response.text
    return sorted(item["title"] for item in response.json()["data"])


async def exported_titles(client: AsyncClient, account: Account) -> list[str]:
    response = await client.get(f"{API}/users/me/export", headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == account.email
    return sorted(item["title"] for item in response.json()["items"])


async def user_id_of(client: AsyncClient, account: Account) -> uuid.UUID:
    return uuid.UUID((await client.get(f"{API}/users/me", headers=account.headers)).json()["id"])


async def item_status(client: AsyncClient, account: Account, item_id: str) -> int:
    return (await client.get(f"{API}/items/{item_id}", headers=account.headers)).status_code


async def new_item(client: AsyncClient, account: Account, title: str) -> str:
    response = await client.post(f"{API}/items", json={"title": title}, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.mark.skipif(SHARED_ITEMS, reason="an organisation's items are read on the primary")
async def test_lag_tolerant_reads_are_the_replicas_but_right_after_the_users_write(
    make_app: MakeApp, database_url: str, replica_url: str
) -> None:
    settings = {"database_read_url": replica_url, "database_read_after_write_seconds": 1}
    async with make_app(**settings) as (app, client):
        account = await signup(client)
        user_id = await user_id_of(client, account)
        replicated = await new_item(client, account, "replicated")
        await replicate(database_url, replica_url, user_id)
        behind = await write_behind_the_replica(database_url, user_id, "not on the replica yet")
        await until_the_write_is_old(app, user_id)

        # The list and a single item on a miss, and the export: what the replica holds.
        assert await titles(client, account) == ["replicated"]
        assert await item_status(client, account, replicated) == 200
        assert await item_status(client, account, behind) == 404
        assert await exported_titles(client, account) == ["replicated"]

        # The user writes: their next reads see it, and the rows the replica lacks, on the primary.
        written = await new_item(client, account, "just written")
        everything = ["just written", "not on the replica yet", "replicated"]
        assert await titles(client, account) == everything
        for item in (written, behind):
            read = await client.get(f"{API}/items/{item}", headers=account.headers)
            assert (read.status_code, read.headers["X-Cache"]) == (200, "MISS")
        assert await exported_titles(client, account) == everything


@pytest.mark.parametrize("outage", ["refused", "starting up"])
async def test_reads_fall_back_to_the_primary_while_the_replica_does_not_answer(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture, outage: str
) -> None:
    async with database_starting_up() as starting_up:
        down = {
            "refused": f"postgresql://app@127.0.0.1:{closed_port()}/app",
            "starting up": starting_up,
        }[outage]
        settings = {"database_read_url": down, "database_read_after_write_seconds": 1}
        async with make_app(**settings) as (app, client):
            account = await signup(client)
            await new_item(client, account, "on the primary")
            user_id = await user_id_of(client, account)
            await until_the_write_is_old(app, user_id)
            with caplog.at_level(logging.WARNING, logger="app.core.db"):
                assert await titles(client, account) == ["on the primary"]
                for _ in range(3):
                    assert await exported_titles(client, account) == ["on the primary"]
    # Tried once, then skipped for database_read_retry_seconds: one warning, not one per read.
    warnings = [r for r in caplog.records if "read replica did not answer" in r.getMessage()]
    assert len(warnings) == 1


async def test_without_a_replica_every_read_is_on_the_primary_and_no_write_is_tracked(
    make_app: MakeApp,
) -> None:
    async with make_app() as (app, client):
        assert app.state.read_replica is None
        account = await signup(client)
        await new_item(client, account, "one")
        user_id = await user_id_of(client, account)
        assert not await app.state.cache.wrote_recently(user_id)
        assert await titles(client, account) == ["one"]
