"""Probes for compose and Kubernetes, and the Prometheus scrape endpoint."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import State

from app.observability import metrics

router = APIRouter(tags=["health"])
# /metrics on the API's own port: included outside production only (app/main.py).
metrics_router = APIRouter()
logger = logging.getLogger(__name__)

# A dependency that does not answer within this many seconds counts as down.
CHECK_TIMEOUT_SECONDS = 2.0
CheckStatus = Literal["ok", "degraded", "unavailable", "not configured"]


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, CheckStatus]


# The probe's one answer, made once: probed every few seconds, it should cost next to nothing.
LIVE = Liveness().model_dump_json().encode()


@router.get("/health/live", response_model=Liveness)
async def live() -> Response:
    """200 while the process runs: the liveness probe."""
    return Response(LIVE, media_type="application/json")


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "The database does not answer"}},
)
async def ready(request: Request) -> JSONResponse:
    """200 when the database answers, else 503. Redis down is 200 with "redis": "degraded": the
    API serves without it (cache and rate limits fail open), so it must not leave the rotation."""
    checks = await check_dependencies(request.app.state)
    if checks["database"] == "unavailable":
        body = Readiness(status="unavailable", checks=checks)
        return JSONResponse(body.model_dump(), status_code=503)
    body = Readiness(status="degraded" if "degraded" in checks.values() else "ok", checks=checks)
    return JSONResponse(body.model_dump())


@metrics_router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


class Pings:
    """Each dependency's ping, one at a time. A check waits `timeout_seconds` for it, then counts
    the dependency down but leaves the ping to finish: cancelled halfway, SQLAlchemy's close of an
    aiosqlite connection can wait forever, and so would a shutdown (or test run) waiting for it."""

    def __init__(self, timeout_seconds: float = CHECK_TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds
        self._running: dict[str, asyncio.Task[object]] = {}

    async def check(self, name: str, ping: Callable[[], Awaitable[object]]) -> CheckStatus:
        """Whether `name` answers ("ok" or "unavailable"), with its dependency_up gauge set. A
        ping still running from an earlier check is waited for again rather than doubled."""
        task = self._running.get(name)
        if task is None:
            task = self._running[name] = asyncio.ensure_future(ping())
            task.add_done_callback(partial(self._ended, name))
        done, _ = await asyncio.wait({task}, timeout=self.timeout_seconds)
        if not done:
            error: BaseException | None = TimeoutError(f"no answer within {self.timeout_seconds} s")
        elif task.cancelled():  # by close(), at shutdown
            error = asyncio.CancelledError()
        else:
            error = task.exception()
        if error is not None:
            logger.warning("Readiness: %s unavailable: %r", name, error, extra={"dependency": name})
            metrics.DEPENDENCY_UP.labels(name).set(0)
            return "unavailable"
        metrics.DEPENDENCY_UP.labels(name).set(1)
        return "ok"

    async def close(self, within_seconds: float = 5.0) -> None:
        """At shutdown: wait for the pings still running, for at most `within_seconds`, and
        only then cancel what is left."""
        running = dict(self._running)
        if not running:
            return
        await asyncio.wait(running.values(), timeout=within_seconds)
        for name, task in running.items():
            if not task.done():
                logger.error("The ping of %s did not end within %s s", name, within_seconds)
                task.cancel()

    def _ended(self, name: str, task: asyncio.Task[object]) -> None:
        if self._running.get(name) is task:
            del self._running[name]
        if not task.cancelled():
            task.exception()  # retrieved: the check that waited for it logged it


async def check_dependencies(state: State) -> dict[str, CheckStatus]:
    """Ping the database and Redis; sets the dependency_up gauges the alerts watch."""
    pings: Pings = state.pings
    database = await pings.check("database", partial(_ping_database, state.engine))
    if state.redis is None:
        return {"database": database, "redis": "not configured"}
    redis = await pings.check("redis", state.redis.ping)
    return {"database": database, "redis": "degraded" if redis == "unavailable" else redis}


async def watch_dependencies(state: State, interval_seconds: float) -> None:
    """Check the dependencies every `interval_seconds` until cancelled, so the dependency_up
    gauges are fresh whoever calls the API (the compose healthcheck probes /health/live only)."""
    while True:
        await check_dependencies(state)
        await asyncio.sleep(interval_seconds)


async def _ping_database(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
