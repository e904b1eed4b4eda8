"""Probes for compose and Kubernetes, and the Prometheus scrape endpoint."""

import logging
from collections.abc import Awaitable
from typing import Literal

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core import metrics

router = APIRouter(tags=["health"])
# /metrics on the API's own port: included outside production only (app/main.py).
metrics_router = APIRouter()
logger = logging.getLogger(__name__)

# A dependency that does not answer within this many seconds counts as down.
CHECK_TIMEOUT_SECONDS = 2.0
CheckStatus = Literal["ok", "unavailable", "not configured"]


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckStatus]


@router.get("/health/live")
async def live() -> Liveness:
    """200 while the process runs: the liveness probe."""
    return Liveness()


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency does not answer"}},
)
async def ready(request: Request) -> JSONResponse:
    """200 when the database (and Redis, where configured) answer; else 503, naming which."""
    state = request.app.state
    checks: dict[str, CheckStatus] = {
        "database": await _check("database", _ping_database(state.engine)),
        "redis": "not configured"
        if state.redis is None
        else await _check("redis", state.redis.ping()),
    }
    healthy = all(value != "unavailable" for value in checks.values())
    body = Readiness(status="ok" if healthy else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


@metrics_router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


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
