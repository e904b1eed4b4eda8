"""The FastAPI application: middleware, error handlers and routers are assembled here."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from app.accounts import deps
from app.accounts.cached_hits import CachedHits
from app.api.deps import API_V1
from app.api.errors import CodedError
from app.cache import (
    Cache,
    MemoryStore,
    RedisBreaker,
    RedisStore,
    Store,
    TrackedStore,
    create_redis,
)
from app.cache.replay import replay_later
from app.core.config import Settings, get_settings
from app.core.db import ReadReplica, create_engine, create_sessionmaker, database_unavailable
from app.core.security import HashingBusy
from app.first_admin import ensure_first_admin
from app.http.api_docs import add_api_docs
from app.http.middleware import (
    OriginCors,
    ResponseMiddleware,
    TrustedHostsMiddleware,
    route_template,
)
from app.http.overload import BUSY, OverloadMiddleware, unavailable
from app.jobs.queue import open_queue, worker_options
from app.mail import dev_inbox
from app.observability import health, metrics
from app.observability.logs import configure_logging
from app.observability.tracing import init_observability
from app.rate_limit import RateLimiter
from app.routes import api_router, operation_id, startup_warnings
from app.web import mount_frontend

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Per worker process: the database pool, the Redis pool (or the in-process store)."""
    settings: Settings = app.state.settings
    for warning in startup_warnings(settings):
        logger.warning(warning)
    app.state.engine = create_engine(settings)
    capacity = settings.db_pool.size + settings.db_pool.max_overflow
    pool_watch = asyncio.create_task(
        metrics.watch_pool(app.state.engine.sync_engine.pool, capacity=capacity)
    )
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    app.state.read_replica = None
    if settings.database_read_url:
        replica = create_engine(settings, url=settings.database_read_url)
        app.state.read_replica = ReadReplica(
            replica, app.state.sessionmaker, settings.database_read_retry_seconds
        )
    cache_store: Store
    limit_store: Store
    background: list[asyncio.Task[None]] = [pool_watch]
    if settings.redis_url:
        app.state.redis = create_redis(settings)
        breaker = RedisBreaker(settings.redis_retry_seconds)
        # Hits come from this worker's copies of Redis's entries, which Redis keeps right.
        cache_store = TrackedStore(
            app.state.redis,
            RedisStore(app.state.redis, breaker, "cache"),
            memory_store(settings),
            max_age_seconds=min(settings.cache_ttl_seconds.model_dump().values()),
            retry_seconds=settings.redis_retry_seconds,
        )
        background.append(asyncio.create_task(cache_store.track()))
        limit_store = RedisStore(app.state.redis, breaker, "rate_limit")
    else:
        app.state.redis = None
        cache_store = limit_store = memory_store(settings)
    app.state.cache = Cache(
        cache_store,
        settings.cache_ttl_seconds,
        enabled=settings.cache_enabled,
        owner_record=deps.CurrentUser,  # looked up at start-up: the model this release has
        replay_later=replay_later(app.state.sessionmaker),
        # A writer's next reads must see their write: the replica may not have it yet.
        recent_write_seconds=(
            settings.database_read_after_write_seconds if settings.database_read_url else None
        ),
    )
    app.state.rate_limiter = RateLimiter(
        limit_store,
        processes=settings.rate_limit.processes,
        batches=settings.redis_url is not None,  # in process, counting costs no round trip
    )
    metrics.forget_dead_workers()
    app.state.pings = health.Pings()
    background.append(
        asyncio.create_task(health.watch_dependencies(app.state, settings.dependency_check_seconds))
    )
    job_queue = contextlib.AsyncExitStack()
    if settings.is_sqlite:
        # No PostgreSQL queue: jobs run here, from memory (app/jobs/queue.py).
        queue = await job_queue.enter_async_context(open_queue(settings))
        options = worker_options(settings, app.state.sessionmaker)
        background.append(
            asyncio.create_task(queue.run_worker_async(**options, install_signal_handlers=False))
        )
    try:  # after the job queue opens: it may enqueue a set-password email
        await ensure_first_admin(settings, app.state.sessionmaker, app.state.cache)
    except (OSError, DBAPIError):  # the database is not up yet: the next start tries again
        logger.exception("FIRST_ADMIN_EMAIL: could not reach the database; not ensured this time")
    try:
        yield
    finally:
        # Stopped before the engine goes: nothing may be left holding a connection.
        await stop_tasks(background)
        await app.state.pings.close()  # let a ping end: cancelled halfway, it may never end
        await job_queue.aclose()
        await app.state.engine.dispose()
        if app.state.read_replica is not None:
            await app.state.read_replica.engine.dispose()
        metrics.forget_pool()
        if app.state.redis is not None:
            await app.state.redis.aclose()


async def stop_tasks(tasks: list[asyncio.Task[None]], within_seconds: float = 5.0) -> None:
    """Cancel `tasks` and wait for them. A task that swallowed its cancel keeps getting more, for
    at most `within_seconds`: on Python 3.11 asyncio.wait_for (asyncpg's connect uses it) drops a
    cancel that lands as what it waits for ends, and a shutdown waiting on that loop never ended."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_seconds
    pending = set(tasks)
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a failed watcher was already logged where it failed
    for task in pending:
        logger.error("Background task %s did not stop within %s s", task.get_name(), within_seconds)


def memory_store(settings: Settings) -> MemoryStore:
    return MemoryStore(settings.memory_cache_max_entries, settings.memory_cache_max_mb * 2**20)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title=settings.project_name,
        description=settings.description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from this app's own files by add_api_docs below
        redoc_url=None,
        openapi_url="/openapi.json" if settings.serves_docs else None,
        generate_unique_id_function=operation_id,
        # Traces come from OpenTelemetry's FastAPI instrumentation where OTLP is set
        # (app/observability/tracing.py); FastAPI's own would check for a provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    retry_after = settings.overload_retry_after_seconds

    # Added innermost first: the request id wraps everything, so its logs carry it; a shed request
    # still gets CORS and security headers, and so does a 500. Four layers (five in production):
    # each costs CPU on every request. Innermost, the signed-in user's cache hits, answered before
    # routing: every other layer wraps them. CORS only for requests with an Origin.
    app.add_middleware(CachedHits)
    app.add_middleware(
        OverloadMiddleware,
        limits=settings.request_limits,
        max_in_flight=settings.max_in_flight,
        retry_after=retry_after,
    )
    if settings.environment == "production":
        # The Host header names this site, or the request is refused: nothing reflects another
        # (a Location header, a redirect) back to a client.
        app.add_middleware(
            TrustedHostsMiddleware, allowed_hosts=settings.trusted_hosts, www_redirect=False
        )
    app.add_middleware(
        OriginCors,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Cache", "X-Request-ID", "Retry-After"],
    )
    app.add_middleware(ResponseMiddleware, hsts=settings.environment == "production")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if isinstance(error, CodedError):
            body = {"detail": error.detail, "code": error.code}
            return JSONResponse(body, status_code=error.status_code, headers=error.headers)
        if error.status_code == 405:
            # Starlette's Allow names one route's methods; list every method the path serves.
            operations = app.openapi()["paths"].get(route_template(request.scope), {})
            if operations:
                allow = ", ".join(sorted(method.upper() for method in operations))
                error.headers = {**(error.headers or {}), "Allow": allow}
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's own 422 echoes every invalid value ("input"): a password, a 60 KB title.
        # Say where and why, never what.
        return JSONResponse({"detail": [safe_error(e) for e in error.errors()]}, status_code=422)

    @app.exception_handler(PoolTimeoutError)
    async def pool_exhausted(_: Request, error: PoolTimeoutError) -> JSONResponse:
        # Every connection stayed busy for db_pool.timeout_seconds: shed this request now rather
        # than queue it behind the others.
        metrics.DB_POOL_TIMEOUTS.inc()
        logger.warning("Database pool exhausted: %s", error)
        return unavailable(BUSY, retry_after)

    @app.exception_handler(HashingBusy)
    async def login_storm(_: Request, error: HashingBusy) -> JSONResponse:
        metrics.REQUESTS_SHED.inc()
        return unavailable(BUSY, retry_after)

    @app.exception_handler(OSError)
    async def dependency_unreachable(_: Request, error: OSError) -> JSONResponse:
        # Connection refused or timed out: the database (or another service) is down.
        logger.warning("A service the API needs is unreachable: %r", error)
        return unavailable("A service the API needs is unavailable; retry shortly.", retry_after)

    @app.exception_handler(DBAPIError)
    async def connection_lost(_: Request, error: DBAPIError) -> JSONResponse:
        if not database_unavailable(error):
            raise error  # a real bug: 500, with its traceback in the log
        logger.warning("Database unavailable: %s", error.orig)
        return unavailable("The database is unavailable; retry shortly.", retry_after)

    app.include_router(health.router)
    if settings.environment != "production":  # production: the metrics port only (app/__main__.py)
        app.include_router(health.metrics_router)
    app.include_router(api_router, prefix=API_V1)
    if settings.serves_docs:
        add_api_docs(app)
    if settings.environment == "local":  # `make dev`'s emails (SMTP_HOST unset): never production
        app.include_router(dev_inbox.router)
    mount_frontend(app, settings)  # last: its catch-all page route must not shadow the API
    init_observability(settings, "api", app)
    return app


# The longest message or location part a 422 repeats (a message may quote the input).
MAX_ERROR_TEXT = 200
LIMIT_KEYS = frozenset({"min_length", "max_length"})


def safe_error(error: Mapping[str, Any]) -> dict[str, object]:
    """One validation error without its input, its text bounded and encodable."""

    def bounded(text: object) -> object:
        if not isinstance(text, str):
            return text
        return text[:MAX_ERROR_TEXT].encode("utf-8", "replace").decode()

    # The limits a page words ("at most 255 characters"): numbers only, never a pattern or input.
    limits = {
        key: value
        for key, value in (error.get("ctx") or {}).items()
        if key in LIMIT_KEYS and isinstance(value, int)
    }
    return {
        "type": error["type"],
        "loc": [bounded(part) for part in error["loc"]],
        "msg": bounded(error["msg"]),
        **({"ctx": limits} if limits else {}),
    }


app = create_app()
