"""The async engine (asyncpg for PostgreSQL, aiosqlite for the embedded default), its pool, the
read replica's sessions, and the UTC timestamp column every table uses."""

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import DateTime, TypeDecorator, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext import asyncio as sqlalchemy_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import Settings

# SQLSTATE classes that mean "the database cannot serve anyone now", not "this query is wrong":
# connection exceptions (08), insufficient resources such as too many connections (53), and
# operator intervention: shutting down, crashed, starting up, in recovery (57P).
UNAVAILABLE_SQLSTATES = ("08", "53", "57P")

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores it without the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def database_unavailable(error: DBAPIError) -> bool:
    """Whether `error` says the database is unavailable (503) rather than a bug (500)."""
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return error.connection_invalidated or sqlstate.startswith(UNAVAILABLE_SQLSTATES)


def is_app_table(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's include_name: the job queue's procrastinate_* tables are not the models'; their
    own migration (0002) creates them from procrastinate's schema."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def create_engine(
    settings: Settings, *, pooled: bool = True, url: str | None = None
) -> AsyncEngine:
    """The app's engine (on `url`, the read replica's, when given); `pooled=False` for one-off
    work such as migrations."""
    options: dict[str, Any] = {"connect_args": _connect_args(settings)}
    if pooled:
        pool = settings.db_pool
        options.update(
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout_seconds,
            pool_pre_ping=pool.pre_ping,
            pool_recycle=pool.recycle_seconds,
        )
    else:
        options["poolclass"] = NullPool
    # Looked up at each call: with tracing on (app/observability/tracing.py) it is OpenTelemetry's
    # wrapper, which traces every statement of the new engine.
    engine = sqlalchemy_asyncio.create_async_engine(url or settings.database_url, **options)
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit, so a route can return what it just saved.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


class ReadReplica:
    """Sessions for reads that tolerate replication lag (settings.database_read_url): on the
    replica while it answers, else on the primary. A replica that fails to connect is skipped for
    `retry_seconds`, so an outage costs one connect timeout per interval, never an error."""

    def __init__(
        self, engine: AsyncEngine, primary: async_sessionmaker[AsyncSession], retry_seconds: float
    ) -> None:
        self.engine = engine
        self._replica = create_sessionmaker(engine)
        self._primary = primary
        self._retry_seconds = retry_seconds
        self._skip_until = 0.0

    @asynccontextmanager
    async def session(
        self, stay_on_primary: Callable[[], Awaitable[bool]]
    ) -> AsyncIterator[AsyncSession]:
        """A session on the replica, or on the primary when `stay_on_primary()` says so (the
        user wrote a moment ago, and the replica may not have it yet) or the replica is down."""
        replica = None
        if time.monotonic() >= self._skip_until and not await stay_on_primary():
            replica = await self._replica_session()
        async with replica or self._primary() as session:
            yield session

    async def _replica_session(self) -> AsyncSession | None:
        session = self._replica()
        try:
            await session.connection()  # connects now: an outage shows here, not mid-read
        # Whatever keeps the replica from answering (refused, timed out, starting up, not
        # accepting us): the primary has the same rows and newer.
        except Exception:
            await session.close()
            self._skip_until = time.monotonic() + self._retry_seconds
            logger.warning(
                "The read replica did not answer; reading from the primary for %.0f s",
                self._retry_seconds,
                exc_info=True,
            )
            return None
        return session


def _connect_args(settings: Settings) -> dict[str, Any]:
    if settings.is_sqlite:
        return {"timeout": 15}  # seconds a writer waits for another to finish
    args: dict[str, Any] = {"timeout": settings.db_pool.connect_timeout_seconds}
    if not settings.db_prepared_statement_cache:
        # PgBouncer in transaction mode hands each transaction any server connection: prepared
        # statements must not be cached per connection, and their names must never collide.
        args.update(
            statement_cache_size=0,
            prepared_statement_cache_size=0,
            prepared_statement_name_func=lambda: f"__asyncpg_{uuid4()}__",
        )
    return args


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
