"""Dependencies of the routes: settings, database session, cache, rate limiter, current user."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from pydantic import Field
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crud
from app.core.cache import Cache
from app.core.config import Settings
from app.core.rate_limit import RateLimiter
from app.core.security import InvalidTokenError, decode_token
from app.models import Message, UserPublic

API_V1 = "/api/v1"
Sessionmaker = async_sessionmaker[AsyncSession]
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
TokenDep = Annotated[str, Depends(OAuth2PasswordBearer(tokenUrl=f"{API_V1}/auth/login"))]


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


class CurrentUser(UserPublic):
    # Compared with the access token's: a token from before "sign out everywhere" is refused.
    session_version: int = 0
    # The prefix of everything cached for this user, read once per request (see Cache).
    cache_namespace: str = Field(default="", exclude=True)
    # Whether the user record came from the cache: /users/me reports it as X-Cache.
    cache_status: str = Field(default="MISS", exclude=True)


async def get_current_user(token: TokenDep, request: Request) -> CurrentUser:
    """The signed-in user, from a valid access token; counts the request against their API limit.

    On every signed-in request: the app's parts come from `app.state` rather than from
    dependencies of their own, which FastAPI would solve one by one on each request.
    """
    state = request.app.state
    settings: Settings = state.settings
    cache: Cache = state.cache
    try:
        claims = decode_token(token, "access", settings.secret_key)
    except InvalidTokenError:
        raise unauthorized() from None
    limiter: RateLimiter = state.rate_limiter
    hit = await limiter.hit("api", str(claims.user_id), settings.rate_limit.api_per_minute)
    if hit.retry_after is not None:
        raise too_many_requests(hit.retry_after)

    namespace, cached = await cache.owner(claims.user_id)
    if cached is not None:
        user = CurrentUser.model_validate_json(cached)
        user.cache_status = "HIT"
    else:
        async with state.sessionmaker() as session:
            record = await crud.get_user(session, claims.user_id)
        if record is None:
            raise unauthorized()
        user = CurrentUser.model_validate(record, from_attributes=True)
        await cache.set_owner_record(claims.user_id, user.model_dump_json().encode())
    user.cache_namespace = namespace
    if claims.version != user.session_version:
        raise unauthorized("This session was signed out; sign in again.")
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Inactive user")
    return user


CurrentUserDep = Annotated[CurrentUser, Depends(get_current_user)]
