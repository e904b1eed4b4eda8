"""The emails of the account flows. Each job looks up what it needs when it runs, so a request
answers the same way whether an address has an account or not, and a link's token is made here:
it never sits in the job queue's arguments."""

import logging
import uuid
from datetime import timedelta

from procrastinate import JobContext
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from app import audit, mail
from app.accounts import crud, mfa, passkeys
from app.accounts.models import RefreshToken, User
from app.core.config import Settings
from app.core.db import utcnow
from app.jobs.queue import DEFAULT_RETRY, enqueue, queue, session_for

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105  (a purpose, not a password)

logger = logging.getLogger(__name__)


def _settings(context: JobContext) -> Settings:
    return context.additional_context["settings"]


def link(settings: Settings, page: str, token: str | None = None) -> str:
    """A link into the web app: PUBLIC_URL/page?token=..."""
    url = f"{settings.public_url.rstrip('/')}/{page}"
    return f"{url}?token={token}" if token else url


async def new_link(
    session: AsyncSession,
    settings: Settings,
    user: User,
    purpose: str,
    new_email: str | None = None,
    *,
    email: str | None = None,
    session_version: int | None = None,
) -> str:
    """A link with a new token of `purpose` for the user, committed (their older unused ones of
    that purpose stop working): the page and lifetime follow from the purpose. It is bound to the
    user's address and session version: as they are now, or as the request that asked saw them."""
    if purpose == RESET_PASSWORD:
        page, lifetime = "reset-password", timedelta(minutes=settings.password_reset_minutes)
    else:
        page, lifetime = "verify-email", timedelta(hours=settings.verify_email_hours)
    token = await crud.add_account_token(
        session,
        user.id,
        purpose,
        lifetime,
        email=user.email if email is None else email,
        session_version=user.session_version if session_version is None else session_version,
        new_email=new_email,
    )
    await session.commit()
    return link(settings, page, token)


async def _send_verification(context: JobContext, user_id: uuid.UUID) -> None:
    settings = _settings(context)
    async with session_for(context) as session:
        user = await crud.get_user(session, user_id)
        if user is None or user.email_verified:
            return
        email = user.email
        url = await new_link(session, settings, user, VERIFY_EMAIL)
    await mail.send_template(
        settings, email, "verify_email", email=email, link=url, hours=settings.verify_email_hours
    )


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def send_verification(context: JobContext, user_id: str) -> None:
    """The verification link for a new account."""
    await _send_verification(context, uuid.UUID(user_id))


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def verification_requested(context: JobContext, email: str) -> None:
    """ "Send the link again": only an account that is not verified yet gets one."""
    async with session_for(context) as session:
        user = await crud.get_user_by_email(session, email)
    if user is not None:
        await _send_verification(context, user.id)


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def sign_in_failed(
    context: JobContext, email: str, ip: str | None, request_id: str | None
) -> None:
    """A wrong password: an audit event if the address has an account. Looked up here, not in the
    request, which then does the same work for every address and so takes the same time."""
    async with session_for(context) as session:
        user = await crud.get_user_by_email(session, email)
        if user is not None:
            kind = audit.SIGN_IN_FAILED
            audit.record(session, kind, target_user_id=user.id, ip=ip, request_id=request_id)
            await session.commit()


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def registration_received(
    context: JobContext, email: str, user_id: str | None, notify: bool
) -> None:
    """A registration, new or of a taken address: the request did the same work for both and
    left the difference to this job. A new account gets its verification link (and the example
    welcome job); the owner of a taken address hears of it, unless `notify` is off (the
    address's email limit was reached)."""
    if user_id is not None:
        async with session_for(context) as session:
            # Both in one commit: a retry of this job never enqueues them twice.
            await enqueue(session, send_verification, user_id=user_id)
            await enqueue(session, welcome, user_id=user_id)
            await session.commit()
    elif notify:
        await _tell_the_owner(_settings(context), email)


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def registration_attempted(context: JobContext, email: str) -> None:
    """Jobs enqueued before registration_received existed (a queue carried over an upgrade)."""
    await _tell_the_owner(_settings(context), email)


async def _tell_the_owner(settings: Settings, email: str) -> None:
    """Someone registered an address that has an account: its owner hears of it (the request was
    answered exactly as for a new account)."""
    url = link(settings, "forgot-password")
    await mail.send_template(settings, email, "account_exists", email=email, link=url)


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def password_reset_requested(context: JobContext, email: str) -> None:
    """A reset link, if the address has an active account; nothing otherwise."""
    settings = _settings(context)
    async with session_for(context) as session:
        user = await crud.get_user_by_email(session, email)
        if user is None or not user.is_active:
            return
        url = await new_link(session, settings, user, RESET_PASSWORD)
    minutes = settings.password_reset_minutes
    await mail.send_template(
        settings, email, "reset_password", email=email, link=url, minutes=minutes
    )


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def email_change_requested(
    context: JobContext,
    user_id: str,
    new_email: str,
    email: str | None = None,
    session_version: int | None = None,
) -> None:
    """The confirmation link, to the new address: the email changes once it is opened. The link
    is bound to the address and session version the request saw (`email`, `session_version`;
    left out by jobs enqueued before they existed): a password changed since makes it void."""
    settings = _settings(context)
    async with session_for(context) as session:
        user = await crud.get_user(session, uuid.UUID(user_id))
        if user is None:
            return
        bound = {"email": email, "session_version": session_version}
        url = await new_link(session, settings, user, VERIFY_EMAIL, new_email, **bound)
    hours = settings.verify_email_hours
    await mail.send_template(
        settings, new_email, "change_email", email=new_email, link=url, hours=hours
    )


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def email_change_notice(context: JobContext, email: str, new_email: str) -> None:
    """A word to the current address, in case the change is not its owner's doing."""
    settings = _settings(context)
    url = link(settings, "forgot-password")
    await mail.send_template(
        settings, email, "email_change_notice", email=email, new_email=new_email, link=url
    )


# What changed about a user's second factors, as the notice words it (app/accounts/mfa_routes.py).
MFA_CHANGES = {
    "totp_on": "An authenticator app was turned on for two-step sign-in.",
    "totp_off": "The authenticator app was turned off: signing in takes your password only.",
    "recovery_codes": "New recovery codes were made; the old ones no longer work.",
    "recovery_code_used": "A recovery code was used to sign in.",
    "reset_by_admin": "An administrator turned off your two-step sign-in and passkeys.",
    "passkey_added": "A passkey was added: it signs in to your account on its own.",
    "passkey_removed": "A passkey was removed: it no longer signs in.",
}


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def mfa_changed(context: JobContext, user_id: str, change: str) -> None:
    """A word to the account's address whenever its second factors change, in case it was not
    its owner's doing."""
    settings = _settings(context)
    async with session_for(context) as session:
        user = await crud.get_user(session, uuid.UUID(user_id))
    if user is None:
        return
    url = link(settings, "forgot-password")
    what = MFA_CHANGES[change]
    await mail.send_template(
        settings, user.email, "mfa_changed", email=user.email, change=what, link=url
    )


# Hourly, off the hour. `timestamp` is when the run was due (procrastinate's periodic argument).
@queue.periodic(cron="23 * * * *")
@queue.task(pass_context=True, retry=DEFAULT_RETRY, queueing_lock="delete_expired_refresh_tokens")
async def delete_expired_refresh_tokens(context: JobContext, timestamp: int) -> None:
    """Expired refresh tokens can never be used again: every sign-in adds one."""
    async with session_for(context) as session:
        result = await session.exec(
            delete(RefreshToken).where(col(RefreshToken.expires_at) < utcnow())
        )
        # And the second steps of sign-ins that were never finished.
        challenges = await mfa.delete_expired_challenges(session)
        challenges += await passkeys.delete_expired_challenges(session)
        await session.commit()
    deleted = {"deleted": result.rowcount, "mfa_challenges": challenges}
    logger.info("deleted expired refresh tokens", extra=deleted)


# An example job: registration_received enqueues it for a new account. Replace its body with real
# work (a welcome email, a webhook), or delete it and its enqueue call.
@queue.task(retry=DEFAULT_RETRY)
async def welcome(user_id: str) -> None:
    logger.info("welcome job ran", extra={"user_id": user_id})
