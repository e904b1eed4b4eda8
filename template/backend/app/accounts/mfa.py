"""Two-step sign-in: authenticator app codes (pyotp, RFC 6238), recovery codes, and the pending
second step of a sign-in. Routes (mfa_routes.py, auth_routes.py) call these; writes leave the
commit to the caller unless they say otherwise."""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

import pyotp
import segno
from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.mfa_models import (
    RECOVERY_CODES,
    MfaChallenge,
    MfaRequired,
    RecoveryCode,
    TotpFactor,
    TotpSetup,
)
from app.accounts.models import User
from app.core.db import utcnow
from app.core.security import link_token_digest, new_link_token

# A code of the step before or after the server's is accepted too (clocks drift, people type).
VALID_WINDOW = 1
# How long the second step of a sign-in may take, and how many wrong codes it survives.
CHALLENGE_LIFETIME = timedelta(minutes=5)
CHALLENGE_FAILURES = 5


# --- authenticator app ---------------------------------------------------------------------------
async def totp_factor(session: AsyncSession, user_id: uuid.UUID) -> TotpFactor | None:
    return await session.get(TotpFactor, user_id)


async def has_totp(session: AsyncSession, user_id: uuid.UUID) -> bool:
    factor = await totp_factor(session, user_id)
    return factor is not None and factor.confirmed_at is not None


async def has_second_factor(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the user signs in with a second factor (REQUIRE_MFA_FOR_ADMINS asks)."""
    return await has_totp(session, user_id)


async def start_totp(session: AsyncSession, user: User, issuer: str) -> TotpSetup:
    """A new secret, not yet on: any earlier unconfirmed one is replaced. The caller commits."""
    secret = pyotp.random_base32()
    factor = await totp_factor(session, user.id)
    if factor is None:
        factor = TotpFactor(user_id=user.id, secret=secret)
    factor.secret, factor.confirmed_at, factor.last_step = secret, None, 0
    session.add(factor)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    # Black on white whatever the page's theme: scanners read that best.
    qr = segno.make(uri, error="m")
    qr_svg = qr.svg_inline(scale=4, dark="black", light="white", title="QR code for your app")
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=qr_svg)


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code `code` is, within the window around `at`; None if none is."""
    totp, code = pyotp.TOTP(secret), code.replace(" ", "")
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        if secrets.compare_digest(totp.at(at, counter_offset=offset), code):
            return totp.timecode(at) + offset
    return None


async def use_totp_code(
    session: AsyncSession, user_id: uuid.UUID, code: str, *, confirmed: bool = True
) -> bool:
    """Whether `code` is a good code of the user's app (of the unconfirmed one when
    `confirmed=False`), and, if so, spend it: one conditional UPDATE, so a code works once even
    when sent twice at the same moment. The caller commits."""
    factor = await totp_factor(session, user_id)
    if factor is None or (factor.confirmed_at is not None) != confirmed:
        return False
    step = matching_step(factor.secret, code, utcnow())
    if step is None:
        return False
    values: dict[str, object] = {"last_step": step}
    if not confirmed:
        values["confirmed_at"] = utcnow()
    result = await session.exec(
        update(TotpFactor)
        .where(col(TotpFactor.user_id) == user_id, col(TotpFactor.last_step) < step)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(factor)
    return result.rowcount == 1


async def remove_factors(session: AsyncSession, user_id: uuid.UUID) -> None:
    """The authenticator app and the recovery codes go (the caller commits)."""
    await session.exec(delete(TotpFactor).where(col(TotpFactor.user_id) == user_id))
    await session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))


# --- recovery codes ------------------------------------------------------------------------------
def recovery_code_digest(code: str) -> str:
    """Dashes, spaces and case do not matter: the digest is of the bare lowercase code."""
    bare = "".join(character for character in code.lower() if character.isalnum())
    return hashlib.sha256(bare.encode()).hexdigest()


async def new_recovery_codes(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """A new set (64 random bits each), shown once; the old set stops working. The caller
    commits."""
    await session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        bare = secrets.token_hex(8)
        codes.append("-".join(bare[i : i + 4] for i in range(0, len(bare), 4)))
        session.add(RecoveryCode(user_id=user_id, digest=recovery_code_digest(bare)))
    return codes


async def use_recovery_code(session: AsyncSession, user_id: uuid.UUID, code: str) -> bool:
    """Spend one of the user's unused recovery codes; False if `code` is none of them."""
    result = await session.exec(
        update(RecoveryCode)
        .where(
            col(RecoveryCode.user_id) == user_id,
            col(RecoveryCode.digest) == recovery_code_digest(code),
            col(RecoveryCode.used_at).is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def recovery_codes_left(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(RecoveryCode)
        .where(col(RecoveryCode.user_id) == user_id, col(RecoveryCode.used_at).is_(None))
    )
    return result.one()


# --- the second step of a sign-in ----------------------------------------------------------------
async def second_step(session: AsyncSession, user: User, method: str) -> MfaRequired | None:
    """For an account with a second factor: a new pending second step (committed) instead of
    tokens. None when the account has none: the first step was enough."""
    if not await has_totp(session, user.id):
        return None
    token, digest = new_link_token()
    session.add(
        MfaChallenge(
            user_id=user.id,
            digest=digest,
            method=method,
            session_version=user.session_version,
            expires_at=utcnow() + CHALLENGE_LIFETIME,
        )
    )
    await session.commit()
    return MfaRequired(mfa_token=token)


async def pending_challenge(session: AsyncSession, token: str) -> tuple[MfaChallenge, User] | None:
    """The pending second step of `token` and its account; None when the token is unknown, used,
    expired, out of tries, or the account's sessions were signed out since."""
    result = await session.exec(
        select(MfaChallenge, User)
        .join(User, col(User.id) == col(MfaChallenge.user_id))
        .where(
            col(MfaChallenge.digest) == link_token_digest(token),
            col(MfaChallenge.used_at).is_(None),
            col(MfaChallenge.expires_at) > utcnow(),
            col(MfaChallenge.failures) < CHALLENGE_FAILURES,
            col(MfaChallenge.session_version) == col(User.session_version),
        )
    )
    row = result.first()
    return (row[0], row[1]) if row else None


async def finish_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> bool:
    """Mark the second step done; False if another request did it first. The caller commits."""
    result = await session.exec(
        update(MfaChallenge)
        .where(col(MfaChallenge.id) == challenge_id, col(MfaChallenge.used_at).is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def fail_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> None:
    """A wrong code: one try fewer for this token (committed)."""
    await session.exec(
        update(MfaChallenge)
        .where(col(MfaChallenge.id) == challenge_id)
        .values(failures=col(MfaChallenge.failures) + 1)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def delete_expired_challenges(session: AsyncSession) -> int:
    result = await session.exec(delete(MfaChallenge).where(col(MfaChallenge.expires_at) < utcnow()))
    return result.rowcount
