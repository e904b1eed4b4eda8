"""Probes for compose and Kubernetes, and the Prometheus scrape endpoint."""

import asyncio
import logging
from collections.abc import Awaitable
from typing import Literal

import anyio
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


async def check_dependencies(state: State) -> dict[str, CheckStatus]:
    """Ping the database and Redis; sets the dependency_up gauges the alerts watch."""
    database = await _check("database", _ping_database(state.engine))
    if state.redis is None:
        return {"database": database, "redis": "not configured"}
    redis = await _check("redis", state.redis.ping())
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


async def _check(name: str, probe: Awaitable[object]) -> CheckStatus:
    try:
        with anyio.fail_after(CHECK_TIMEOUT_SECONDS):
            await probe
    except Exception as error:  # any failure means "not ready"
        logger.warning("Readiness: %s unavailable: %r", name, error, extra={"dependency": name})
        metrics.DEPENDENCY_UP.labels(name).set(0)
        return "unavailable"
    metrics.DEPENDENCY_UP.labels(name).set(1)
    return "ok"
