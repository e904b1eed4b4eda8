"""Register, verify the email, log in (OAuth2 password form), refresh with rotation, log out, and
reset a forgotten password. Requests that send an email answer the same whether the address has an
account or not: the email itself tells its owner."""

from datetime import timedelta
from typing import Annotated

from asgi_correlation_id import correlation_id
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from procrastinate.tasks import Task
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import audit
from app.accounts import crud, jobs, mfa
from app.accounts.deps import ApiRateLimit, CurrentUserDep
from app.accounts.mfa_models import MfaRequired
from app.accounts.models import (
    EmailRequest,
    LinkTokenBody,
    PasswordResetConfirm,
    RefreshRequest,
    Token,
    User,
    UserPublic,
    UserRegister,
)
from app.api.deps import (
    MALFORMED_BODY,
    CacheDep,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
    too_many_requests,
    unauthorized,
)
from app.api.errors import account_deactivated, email_not_verified, session_ended
from app.api.schemas import CodedMessage, Message
from app.core.config import Settings
from app.core.security import (
    InvalidTokenError,
    create_token,
    decode_token,
    hash_password,
    link_token_digest,
    verify_password,
)
from app.jobs.queue import enqueue
from app.rate_limit import RateLimiter

router = APIRouter(prefix="/auth", tags=["auth"], responses=MALFORMED_BODY)

# Longer than any stored email or password: bad credentials, without asking the database.
MAX_LOGIN_FIELD = 1024
UNAUTHORIZED = {"model": Message, "description": "Bad credentials or token"}
RATE_LIMITED = {"model": Message, "description": "Too many attempts; see Retry-After"}
BAD_LINK = {"model": Message, "description": "The link's token is invalid, used or expired"}
CHECK_INBOX = "Check your inbox: we sent a link to {email} if it can receive one."


def client_address(request: Request) -> str:
    # The real client's address, also behind the proxy (FORWARDED_ALLOW_IPS in the Dockerfile).
    return request.client.host if request.client else "unknown"


async def limit_account_request(
    request: Request, rate_limiter: RateLimiter, settings: Settings, email: str | None = None
) -> bool:
    """429 past the per-address account limit. Whether an email may go to `email`: past its own
    limit (from every address together) the request is answered as usual and sends nothing, so
    no one can flood a mailbox, nor lock its owner out of asking. Both fail open."""
    limits = settings.rate_limit
    hit = await rate_limiter.hit("account", client_address(request), limits.account_per_minute)
    if hit.retry_after is not None:
        raise too_many_requests(hit.retry_after)
    if email is None:
        return False
    limit = limits.account_per_email_per_minute
    return (await rate_limiter.hit("account_email", email, limit)).retry_after is None


async def email_the_address(
    request: Request,
    email: str,
    job: Task,
    session: AsyncSession,
    settings: Settings,
    rate_limiter: RateLimiter,
) -> Message:
    """Within the account limits, enqueue `job` for the address (it finds out whether there is an
    account) and answer in the same words either way."""
    if await limit_account_request(request, rate_limiter, settings, email):
        await enqueue(session, job, email=email)
        await session.commit()
    return Message(detail=CHECK_INBOX.format(email=email))


def bad_link() -> HTTPException:
    return HTTPException(
        status.HTTP_400_BAD_REQUEST,
        "This link is invalid, has expired or was already used. Ask for a new one.",
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=Message,
    responses={429: RATE_LIMITED},
)
async def register(
    request: Request,
    data: UserRegister,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
) -> Message:
    """Create the account and email a verification link. An address that already has an account
    gets the same answer (its owner gets an email instead), so the answer tells no one which
    addresses have accounts."""
    may_email = await limit_account_request(request, rate_limiter, settings, data.email)
    hashed = await hash_password(data.password)  # for taken addresses too: the same time
    ip = client_address(request)
    user_id = await crud.register_user(session, data, hashed, ip=ip)
    job = {"email": data.email, "user_id": str(user_id) if user_id else None, "notify": may_email}
    await enqueue(session, jobs.registration_received, **job)
    await session.commit()
    return Message(detail=CHECK_INBOX.format(email=data.email))


@router.post(
    "/login",
    response_model=Token | MfaRequired,
    responses={
        401: UNAUTHORIZED,
        403: {"model": CodedMessage, "description": "Inactive, or the email is not verified yet"},
        429: RATE_LIMITED,
    },
)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    rate_limiter: RateLimiterDep,
    settings: SettingsDep,
) -> Token | MfaRequired:
    """Exchange email (as `username`) and password for an access and a refresh token; for an
    account with two-step sign-in, for `mfa_token`, which /auth/mfa/verify takes with a code."""
    email = form.username.strip().lower()[:MAX_LOGIN_FIELD]
    client = client_address(request)
    await limit_sign_in(rate_limiter, settings, client, email)  # before any hashing

    plausible = "\x00" not in email and len(form.password) <= MAX_LOGIN_FIELD
    user = await crud.get_user_by_email(session, email) if plausible else None
    # Hand the connection back to the pool while argon2 works: a burst of logins would otherwise
    # hold every connection for the whole hashing queue, and other requests would wait for them.
    await session.commit()
    valid, new_hash = await verify_password(form.password, user.hashed_password if user else None)
    if user is None or not valid:
        await rate_limiter.count(EMAIL_FAILURES, email)
        # The same work whether the address has an account or not (the time would tell): a job
        # records the event for a known account.
        if plausible:
            failed = {"email": email, "ip": client, "request_id": correlation_id.get()}
            await enqueue(session, jobs.sign_in_failed, **failed)
            await session.commit()
        raise unauthorized("Incorrect email or password")
    await rate_limiter.count(ADDRESS_FAILURES, client, -1)  # the right password: not a failure
    # Said only to someone who knows the password: it tells no one else the address exists.
    refuse_sign_in(settings, user)
    if new_hash is not None:  # stored with outdated argon2 parameters
        await crud.update_password_hash(session, user, new_hash)
    if (pending := await mfa.second_step(session, user, "password")) is not None:
        return pending
    audit.record(session, audit.SIGN_IN, request=request, actor_id=user.id, target_user_id=user.id)
    return await issue_tokens(session, settings, user)  # commits the event with the token


# Failed sign-ins per client address (any email), and per email (from any address).
ADDRESS_FAILURES = "login_address_failures"
EMAIL_FAILURES = "login_email_failures"


async def limit_sign_in(
    rate_limiter: RateLimiter, settings: Settings, client: str, email: str
) -> None:
    """429 past the sign-in limits, before the password is hashed.

    - Tries per address and email: one address guessing one account.
    - Failures per address, any email (password spraying): each try counts as a failure until
      its password turns out right, so a storm from one address is refused before hashing.
    - Failures per email from every address (guessing from many addresses) do not lock the owner
      out: past that limit, each address gets one try a minute at the email. The owner, from an
      address of their own, still gets in; a guesser pays an address per guess a minute.
    """
    limits = settings.rate_limit
    hit = await rate_limiter.hit("login", f"{client}:{email}", limits.login_per_minute)
    if hit.retry_after is None and await rate_limiter.reached(
        EMAIL_FAILURES, email, limits.login_per_email_per_minute
    ):
        hit = await rate_limiter.hit("login_email_slow", f"{client}:{email}", 1)
    if hit.retry_after is None:
        limit = limits.login_failures_per_address_per_minute
        hit = await rate_limiter.take(ADDRESS_FAILURES, client, limit)
    if hit.retry_after is not None:
        raise too_many_requests(hit.retry_after)


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
        raise session_ended()
    user = await crud.get_user(session, claims.user_id)
    if user is None or not user.is_active:
        raise unauthorized()
    return await issue_tokens(session, settings, user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> None:
    """This refresh token stops working (its access token expires on its own, within minutes).
    An invalid or used token is already signed out: 204 all the same."""
    try:
        claims = decode_token(body.refresh_token, "refresh", settings.secret_key)
    except InvalidTokenError:
        return
    await crud.use_refresh_token(session, claims.token_id)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: UNAUTHORIZED},
    dependencies=[ApiRateLimit],
)
async def logout_all(
    request: Request, user: CurrentUserDep, session: SessionDep, cache: CacheDep
) -> None:
    """Sign out every session of the signed-in user, this one included, at once."""
    record = await crud.get_user(session, user.id)
    if record is not None:
        audit.record(
            session,
            audit.SIGNED_OUT_EVERYWHERE,
            request=request,
            actor_id=user.id,
            target_user_id=user.id,
        )
        await crud.sign_out_everywhere(session, record)
    await cache.forget_owner_record(user.id)


@router.post(
    "/verify-email",
    response_model=UserPublic,
    responses={
        400: BAD_LINK,
        409: {"model": Message, "description": "The new email is taken"},
        429: RATE_LIMITED,
    },
)
async def verify_email(
    request: Request,
    body: LinkTokenBody,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
    cache: CacheDep,
) -> UserPublic:
    """Open a verification link: the address is verified (for an email change, it becomes the
    account's address). The link works once."""
    await limit_account_request(request, rate_limiter, settings)
    token = await crud.use_account_token(session, link_token_digest(body.token), jobs.VERIFY_EMAIL)
    user = await crud.get_user(session, token.user_id) if token else None
    if token is None or user is None:
        raise bad_link()
    if token.new_email:
        audit.record(
            session,
            audit.EMAIL_CHANGED,
            request=request,
            actor_id=user.id,
            target_user_id=user.id,
            old=user.email,
            new=token.new_email,
        )
        user.email = token.new_email
        # Links sent to the old address (a password reset) are bound to it: they die with it.
        await crud.revoke_account_tokens(session, user.id)
    user.email_verified = True
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:  # the new address got an account after the change was asked for
        raise HTTPException(
            status.HTTP_409_CONFLICT, "That address now belongs to another account."
        ) from None
    await cache.forget_owner_record(user.id)
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    responses={429: RATE_LIMITED},
)
async def resend_verification(
    request: Request,
    body: EmailRequest,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
) -> Message:
    """Email a new link if the address has an unverified account; the answer is the same either
    way."""
    job = jobs.verification_requested
    return await email_the_address(request, body.email, job, session, settings, rate_limiter)


@router.post(
    "/password-reset/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    responses={429: RATE_LIMITED},
)
async def request_password_reset(
    request: Request,
    body: EmailRequest,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
) -> Message:
    """Email a reset link if the address has an account; the answer is the same either way."""
    job = jobs.password_reset_requested
    return await email_the_address(request, body.email, job, session, settings, rate_limiter)


@router.post(
    "/password-reset/confirm",
    response_model=Message,
    responses={400: BAD_LINK, 429: RATE_LIMITED},
)
async def confirm_password_reset(
    request: Request,
    body: PasswordResetConfirm,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
    cache: CacheDep,
) -> Message:
    """Set the new password from a reset link: every session of the account is signed out, and
    the address counts as verified (the link reached it)."""
    await limit_account_request(request, rate_limiter, settings)
    hashed = await hash_password(body.new_password)
    token = await crud.use_account_token(
        session, link_token_digest(body.token), jobs.RESET_PASSWORD
    )
    user = await crud.get_user(session, token.user_id) if token else None
    if token is None or user is None:
        raise bad_link()
    user.email_verified = True
    audit.record(
        session, audit.PASSWORD_RESET, request=request, actor_id=user.id, target_user_id=user.id
    )
    await crud.set_password(session, user, hashed)
    await cache.forget_owner_record(user.id)
    return Message(detail="Your password is changed. Sign in with the new one.")


def refuse_sign_in(settings: Settings, user: User) -> None:
    """Raise unless `user`, who proved who they are, may have tokens: active, and verified where
    the project requires it."""
    if not user.is_active:
        raise account_deactivated()
    if settings.require_verified_email and not user.email_verified:
        raise email_not_verified()


async def issue_tokens(session: AsyncSession, settings: Settings, user: User) -> Token:
    access_lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    refresh_lifetime = timedelta(days=settings.refresh_token_expire_days)
    secret, version = settings.secret_key, user.session_version
    access, _ = create_token(user.id, "access", access_lifetime, secret, version=version)
    refresh_token, claims = create_token(user.id, "refresh", refresh_lifetime, secret)
    await crud.add_refresh_token(session, claims.token_id, user.id, claims.expires_at)
    return Token(access_token=access, refresh_token=refresh_token)
