"""The signed-in user: who sends a request, from its access token, checked on every request; and
the API rate limit each signed-in user's requests count against (ApiRateLimit)."""

from typing import Annotated

from fastapi import Depends, Request, status
from fastapi.security import OAuth2PasswordBearer
from pydantic import Field

from app.accounts import crud
from app.accounts.models import UserPublic
from app.api.deps import API_V1, too_many_requests, unauthorized
from app.api.errors import CodedError, ErrorCode, account_deactivated, session_ended
from app.cache import Cache
from app.core.security import InvalidTokenError, TokenClaims, decode_token
from app.rate_limit import RateLimiter


class CurrentUser(UserPublic):
    # Compared with the access token's: a token from before "sign out everywhere" is refused.
    session_version: int = 0
    # The prefix of everything cached for this user, read once per request (see Cache).
    cache_namespace: str = Field(default="", exclude=True)
    # Whether the user record came from the cache: /users/me reports it as X-Cache.
    cache_status: str = Field(default="MISS", exclude=True)


class AccessToken(OAuth2PasswordBearer):
    """The claims of the request's valid access token (401 without one), as the API's security
    scheme. One dependency with nothing under it: FastAPI walks every dependency's own dependencies
    on every request, and each step costs CPU. Decoded once per request however many dependencies
    ask (FastAPI's dependency cache), so the rate limit and the user share one decode."""

    async def __call__(self, request: Request) -> TokenClaims:  # type: ignore[override]
        token = await super().__call__(request)
        assert token is not None  # noqa: S101  (auto_error: no token answered 401 already)
        try:
            return decode_token(token, "access", request.app.state.settings.secret_key)
        except InvalidTokenError:
            raise unauthorized() from None


access_claims = AccessToken(tokenUrl=f"{API_V1}/auth/login")
AccessClaimsDep = Annotated[TokenClaims, Depends(access_claims)]


async def api_rate_limit(claims: AccessClaimsDep, request: Request) -> None:
    """429 with Retry-After once the signed-in user is over settings.rate_limit.api_per_minute;
    lets the request through when the store cannot count (Redis down)."""
    state = request.app.state
    limiter: RateLimiter = state.rate_limiter
    limit = state.settings.rate_limit.api_per_minute
    hit = await limiter.hit("api", str(claims.user_id), limit)
    if hit.retry_after is not None:
        raise too_many_requests(hit.retry_after)


# Declared by every router (or route) for signed-in users: `APIRouter(dependencies=[ApiRateLimit])`.
# A router's dependencies run before its routes' own, so a refused request reads no user.
ApiRateLimit = Depends(api_rate_limit)


async def get_current_user(claims: AccessClaimsDep, request: Request) -> CurrentUser:
    """The signed-in user of a valid access token.

    On every signed-in request: the app's parts come from `app.state` rather than from
    dependencies of their own, which FastAPI would solve one by one on each request.
    """
    state = request.app.state
    cache: Cache = state.cache
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
        raise session_ended()
    if not user.is_active:
        raise account_deactivated()
    return user


CurrentUserDep = Annotated[CurrentUser, Depends(get_current_user)]


def last_admin() -> CodedError:
    return CodedError(
        status.HTTP_409_CONFLICT,
        ErrorCode.LAST_ADMIN,
        "This is the last active admin: make another admin first.",
    )
