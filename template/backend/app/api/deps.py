"""What every domain's routes depend on: settings, database session, cache, rate limiter, and the
error answers and response documentation they share. The signed-in user is app/accounts/deps.py."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.schemas import Message
from app.cache import Cache
from app.core.config import Settings
from app.rate_limit import RateLimiter

API_V1 = "/api/v1"
Sessionmaker = async_sessionmaker[AsyncSession]
# What `async with sessions() as session:` needs: a Sessionmaker, or the read replica's sessions.
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]
Responses = dict[int | str, dict[str, object]]
# Documented on the routes that read a body: FastAPI answers 400 when it is not JSON or a form.
MALFORMED_BODY: Responses = {400: {"model": Message, "description": "The body could not be parsed"}}
# Documented on every route that needs a signed-in user.
SIGNED_IN: Responses = {
    401: {"model": Message, "description": "No valid access token"},
    429: {"model": Message, "description": "Over the API rate limit; see Retry-After"},
}


# async, though they await nothing: FastAPI runs a plain `def` dependency in a worker thread, which
# costs a thread hand-off per dependency per request.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The session takes a pooled connection on its first query, not here.
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_sessionmaker(request: Request) -> Sessionmaker:
    return request.app.state.sessionmaker


async def get_cache(request: Request) -> Cache:
    return request.app.state.cache


async def get_rate_limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
# For cached reads: they open a session only on a cache miss (a session per request costs).
SessionmakerDep = Annotated[Sessionmaker, Depends(get_sessionmaker)]
CacheDep = Annotated[Cache, Depends(get_cache)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def unauthorized(detail: str = "Could not validate credentials") -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def too_many_requests(retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail="Too many requests; retry later.",
        headers={"Retry-After": str(retry_after)},
    )
