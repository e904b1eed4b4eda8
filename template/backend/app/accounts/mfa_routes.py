"""Two-step sign-in: the signed-in user turns an authenticator app on or off and renews their
recovery codes (/users/me/mfa/...), and a sign-in that owes its second step finishes it
(/auth/mfa/verify). Every change to a factor is an audit event and an email to the account."""

from fastapi import APIRouter, Request, status
from sqlmodel.ext.asyncio.session import AsyncSession

from app import audit
from app.accounts import crud, jobs, mfa
from app.accounts.auth_routes import RATE_LIMITED, issue_tokens
from app.accounts.deps import ApiRateLimit, CurrentUserDep
from app.accounts.mfa_models import (
    MfaStatus,
    MfaVerify,
    RecoveryCodes,
    TotpConfirm,
    TotpDisable,
    TotpSetup,
)
from app.accounts.models import Token
from app.api.deps import (
    MALFORMED_BODY,
    SIGNED_IN,
    CacheDep,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
    too_many_requests,
    unauthorized,
)
from app.api.errors import CodedError, ErrorCode, account_deactivated
from app.api.schemas import CodedMessage, Message
from app.core.security import verify_password
from app.jobs.queue import enqueue

router = APIRouter(
    prefix="/users/me/mfa",
    tags=["mfa"],
    responses={**SIGNED_IN, **MALFORMED_BODY},
    dependencies=[ApiRateLimit],
)
auth_router = APIRouter(prefix="/auth/mfa", tags=["auth"], responses=MALFORMED_BODY)

# A Message: a body that is not JSON is a 400 too (MALFORMED_BODY), without a code.
INVALID_CODE = {"model": Message, "description": "Wrong or used code (code mfa_invalid_code)"}
ALREADY_ON = {"model": CodedMessage, "description": "The authenticator app is already on"}
NOT_ON = {"model": CodedMessage, "description": "No authenticator app is on"}


def invalid_code(detail: str = "That code is not right, or was already used.") -> CodedError:
    return CodedError(status.HTTP_400_BAD_REQUEST, ErrorCode.MFA_INVALID_CODE, detail)


def not_on() -> CodedError:
    return CodedError(
        status.HTTP_409_CONFLICT, ErrorCode.MFA_NOT_ON, "Turn on an authenticator app first."
    )


async def changed(
    session: AsyncSession, request: Request, user: CurrentUserDep, kind: str, change: str
) -> None:
    """The audit event and the email notice of a change to the user's factors, committed with it."""
    audit.record(session, kind, request=request, actor_id=user.id, target_user_id=user.id)
    await enqueue(session, jobs.mfa_changed, user_id=str(user.id), change=change)
    await session.commit()


@router.get("", response_model=MfaStatus)
async def read_mfa(user: CurrentUserDep, session: SessionDep) -> MfaStatus:
    """Which second factors are on."""
    return MfaStatus(
        totp=await mfa.has_totp(session, user.id),
        recovery_codes_left=await mfa.recovery_codes_left(session, user.id),
    )


@router.post("/totp", response_model=TotpSetup, responses={409: ALREADY_ON})
async def start_totp(user: CurrentUserDep, session: SessionDep, settings: SettingsDep) -> TotpSetup:
    """A new secret for an authenticator app, as text, an otpauth:// link and a QR code (SVG).
    Nothing changes at sign-in until a first code confirms it."""
    if await mfa.has_totp(session, user.id):
        raise CodedError(
            status.HTTP_409_CONFLICT,
            ErrorCode.MFA_ALREADY_ON,
            "Your authenticator app is already on: turn it off first to set up another.",
        )
    record = await crud.get_user(session, user.id)
    if record is None:  # deleted a moment ago
        raise unauthorized()
    setup = await mfa.start_totp(session, record, settings.project_name)
    await session.commit()
    return setup


@router.post(
    "/totp/confirm", response_model=RecoveryCodes, responses={400: INVALID_CODE, 409: ALREADY_ON}
)
async def confirm_totp(
    request: Request, body: TotpConfirm, user: CurrentUserDep, session: SessionDep
) -> RecoveryCodes:
    """Turn the app on with its first code: the answer holds the recovery codes, shown once."""
    if await mfa.has_totp(session, user.id):
        raise CodedError(
            status.HTTP_409_CONFLICT, ErrorCode.MFA_ALREADY_ON, "Your authenticator app is on."
        )
    if not await mfa.use_totp_code(session, user.id, body.code, confirmed=False):
        raise invalid_code("That code is not right: scan the QR code again, or check the time.")
    codes = await mfa.new_recovery_codes(session, user.id)
    await changed(session, request, user, audit.MFA_TOTP_ENABLED, "totp_on")
    return RecoveryCodes(recovery_codes=codes)


@router.delete(
    "/totp",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={400: INVALID_CODE, 409: NOT_ON},
)
async def disable_totp(
    request: Request, body: TotpDisable, user: CurrentUserDep, session: SessionDep
) -> None:
    """Turn the app off, with the account's password or a code from the app; the recovery codes
    go with it."""
    if not await mfa.has_totp(session, user.id):
        raise not_on()
    if body.code is not None:
        proven = await mfa.use_totp_code(session, user.id, body.code)
    else:
        record = await crud.get_user(session, user.id)
        password = body.password or ""
        proven, _ = await verify_password(password, record.hashed_password if record else None)
    if not proven:
        raise invalid_code("That password or code is not right.")
    await mfa.remove_factors(session, user.id)
    await changed(session, request, user, audit.MFA_TOTP_DISABLED, "totp_off")


@router.post("/recovery-codes", response_model=RecoveryCodes, responses={409: NOT_ON})
async def renew_recovery_codes(
    request: Request, user: CurrentUserDep, session: SessionDep
) -> RecoveryCodes:
    """A new set of recovery codes, shown once: the old ones stop working."""
    if not await mfa.has_totp(session, user.id):
        raise not_on()
    codes = await mfa.new_recovery_codes(session, user.id)
    await changed(session, request, user, audit.MFA_RECOVERY_CODES_RENEWED, "recovery_codes")
    return RecoveryCodes(recovery_codes=codes)


@auth_router.post(
    "/verify",
    response_model=Token,
    responses={
        400: INVALID_CODE,
        401: {"model": CodedMessage, "description": "The sign-in expired: sign in again"},
        403: {"model": CodedMessage, "description": "The account is deactivated"},
        429: RATE_LIMITED,
    },
)
async def verify_mfa(
    request: Request,
    body: MfaVerify,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
    cache: CacheDep,
) -> Token:
    """Finish a sign-in that answered `mfa_required` with a code from the app or a recovery
    code: the token pair. Codes are limited per account, and each sign-in survives a few wrong
    ones."""
    found = await mfa.pending_challenge(session, body.mfa_token)
    if found is None:
        raise CodedError(
            status.HTTP_401_UNAUTHORIZED,
            ErrorCode.MFA_EXPIRED,
            "This sign-in expired or had too many wrong codes: sign in again.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    challenge, user = found
    challenge_id, user_id = challenge.id, user.id  # a rollback below expires both records
    limit = settings.rate_limit.mfa_per_minute
    hit = await rate_limiter.take("mfa", str(user.id), limit)
    if hit.retry_after is not None:
        raise too_many_requests(hit.retry_after)
    if body.code is not None:
        valid = await mfa.use_totp_code(session, user.id, body.code)
    else:
        valid = await mfa.use_recovery_code(session, user.id, body.recovery_code or "")
    if not valid or not await mfa.finish_challenge(session, challenge_id):
        await session.rollback()  # a code spent by a sign-in that lost the race comes back
        audit.record(session, audit.MFA_FAILED, request=request, target_user_id=user_id)
        await mfa.fail_challenge(session, challenge_id)  # commits the event with it
        raise invalid_code()
    if not user.is_active:
        raise account_deactivated()
    second = "totp" if body.code is not None else "recovery_code"
    event = {"request": request, "actor_id": user.id, "target_user_id": user.id}
    audit.record(session, audit.SIGN_IN, **event, method=challenge.method, second_step=second)
    if body.recovery_code is not None:
        audit.record(session, audit.MFA_RECOVERY_CODE_USED, **event)
        await enqueue(session, jobs.mfa_changed, user_id=str(user.id), change="recovery_code_used")
    await cache.forget_owner_record(user.id)
    return await issue_tokens(session, settings, user)  # commits the events with the token
