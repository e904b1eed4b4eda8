"""Fixtures. The suite runs on PostgreSQL + Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set
(as CI does), else on a SQLite file with the in-process cache. The schema comes from the Alembic
migrations, as in production."""

import itertools
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
import redis
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app.core.config import BACKEND_DIR, Settings
from app.main import create_app

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
SECRET_KEY = secrets.token_urlsafe(48)
# The test client's origin: links and cookies (Secure only over https) match how it calls.
TEST_ORIGIN = "http://testserver"
CLIENT_ADDRESSES = itertools.count(1)

MakeApp = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, AsyncClient]]]
MakeClient = Callable[..., AbstractAsyncContextManager[AsyncClient]]


def make_settings(**overrides: Any) -> Settings:
    """Test settings: nothing read from the project's .env file, nothing from the tier's
    production defaults (its https PUBLIC_URL would make cookies the test client never sends)."""
    # Sign-in without a verified email, unless a test asks: most tests register and sign in.
    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": SECRET_KEY,
        "public_url": TEST_ORIGIN,
        "require_verified_email": False,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database, brought to the latest migration once per run."""
    url = TEST_DATABASE_URL or (
        f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('database') / 'test.sqlite3'}"
    )
    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.attributes["settings"] = make_settings(database_url=url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    """The test Redis database, emptied once per run; None runs on the in-process cache."""
    if TEST_REDIS_URL:
        with redis.Redis.from_url(TEST_REDIS_URL) as client:
            client.flushdb()
    return TEST_REDIS_URL


@pytest.fixture
def settings(database_url: str, redis_url: str | None) -> Settings:
    return make_settings(database_url=database_url, redis_url=redis_url)


@pytest.fixture
def make_app(settings: Settings) -> MakeApp:
    """Start an app with some settings changed (`make_app(redis_url=...)`): (app, client)."""

    @asynccontextmanager
    async def started(**overrides: Any) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
        app = create_app(make_settings(**{**settings.model_dump(), **overrides}))
        # An address of its own: per-address limits (account emails) on the shared test Redis
        # count this app's requests only, as they would with the in-process store.
        address = next(CLIENT_ADDRESSES)
        client_address = (f"10.0.{address // 256}.{address % 256}", 50000)
        transport = ASGITransport(app=app, client=client_address)
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=transport, base_url=TEST_ORIGIN) as client,
        ):
            yield app, client

    return started


@pytest.fixture
def make_client(make_app: MakeApp) -> MakeClient:
    """Like make_app, for tests that only talk to the app."""

    @asynccontextmanager
    async def started(**overrides: Any) -> AsyncIterator[AsyncClient]:
        async with make_app(**overrides) as (_, client):
            yield client

    return started


@pytest.fixture
async def client(make_client: MakeClient) -> AsyncIterator[AsyncClient]:
    async with make_client() as client:
        yield client
