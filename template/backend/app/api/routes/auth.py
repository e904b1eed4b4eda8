"""Register, log in (OAuth2 password form) and refresh with rotation."""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crud
from app.api.deps import (
    MALFORMED_BODY,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
    too_many_requests,
    unauthorized,
)
from app.core.config import Settings
from app.core.security import (
    InvalidTokenError,
    create_token,
    decode_token,
    hash_password,
    verify_password,
)
from app.models import Message, RefreshRequest, Token, UserPublic, UserRegister

router = APIRouter(prefix="/auth", tags=["auth"], responses=MALFORMED_BODY)

# Longer than any stored email or password: bad credentials, without asking the database.
MAX_LOGIN_FIELD = 1024
UNAUTHORIZED = {"model": Message, "description": "Bad credentials or token"}
RATE_LIMITED = {"model": Message, "description": "Too many attempts; see Retry-After"}


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses={409: {"model": Message, "description": "The email is already registered"}},
)
async def register(data: UserRegister, session: SessionDep) -> UserPublic:
    if await crud.get_user_by_email(session, data.email) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "A user with this email already exists.")
    try:
        user = await crud.create_user(session, data, await hash_password(data.password))
    except IntegrityError:  # registered concurrently, between the check and the insert
        raise HTTPException(
            status.HTTP_409_CONFLICT, "A user with this email already exists."
        ) from None
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/login", response_model=Token, responses={401: UNAUTHORIZED, 429: RATE_LIMITED})
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    rate_limiter: RateLimiterDep,
    settings: SettingsDep,
) -> Token:
    """Exchange email (as `username`) and password for an access and a refresh token."""
    email = form.username.strip().lower()[:MAX_LOGIN_FIELD]
    # The real client's address, also behind the proxy (FORWARDED_ALLOW_IPS in the Dockerfile).
    client = request.client.host if request.client else "unknown"
    limits = settings.rate_limit
    hit = await rate_limiter.hit("login", f"{client}:{email}", limits.login_per_minute)
    if hit.retry_after is None:
        # The email's cap counts every address together, and is higher: bad tries from one
        # address never lock the owner out of another, and guessing from many still stops.
        hit = await rate_limiter.hit("login_email", email, limits.login_per_email_per_minute)
    if hit.retry_after is not None:
        raise too_many_requests(hit.retry_after)

    plausible = "\x00" not in email and len(form.password) <= MAX_LOGIN_FIELD
    user = await crud.get_user_by_email(session, email) if plausible else None
    # Hand the connection back to the pool while argon2 works: a burst of logins would otherwise
    # hold every connection for the whole hashing queue, and other requests would wait for them.
    await session.commit()
    valid, new_hash = await verify_password(form.password, user.hashed_password if user else None)
    if user is None or not valid:
        raise unauthorized("Incorrect email or password")
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Inactive user")
    if new_hash is not None:  # stored with outdated argon2 parameters
        await crud.update_password_hash(session, user, new_hash)
    return await issue_tokens(session, settings, user.id)


@router.post("/refresh", response_model=Token, responses={401: UNAUTHORIZED})
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> Token:
    """A new token pair for a refresh token. Each refresh token works once: presenting a used one
    again revokes all of the user's refresh tokens, since one of them has leaked."""
    try:
        claims = decode_token(body.refresh_token, "refresh", settings.secret_key)
    except InvalidTokenError:
        raise unauthorized() from None
    if not await crud.use_refresh_token(session, claims.token_id):
        await crud.revoke_refresh_tokens(session, claims.user_id)
        raise unauthorized("Refresh token is invalid, expired or already used")
    user = await crud.get_user(session, claims.user_id)
    if user is None or not user.is_active:
        raise unauthorized()
    return await issue_tokens(session, settings, user.id)


async def issue_tokens(session: AsyncSession, settings: Settings, user_id: uuid.UUID) -> Token:
    access_lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    refresh_lifetime = timedelta(days=settings.refresh_token_expire_days)
    access, _ = create_token(user_id, "access", access_lifetime, settings.secret_key)
    refresh_token, claims = create_token(user_id, "refresh", refresh_lifetime, settings.secret_key)
    await crud.add_refresh_token(session, claims.token_id, user_id, claims.expires_at)
    return Token(access_token=access, refresh_token=refresh_token)
