"""The emails of the account flows. Each job looks up what it needs when it runs, so a request
answers the same way whether an address has an account or not, and a link's token is made here:
it never sits in the job queue's arguments."""

import uuid
from datetime import timedelta

from procrastinate import JobContext

from app import crud
from app.core import mail
from app.core.config import Settings
from app.jobs.queue import DEFAULT_RETRY, queue, session_for

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105  (a purpose, not a password)


def _settings(context: JobContext) -> Settings:
    return context.additional_context["settings"]


def link(settings: Settings, page: str, token: str | None = None) -> str:
    """A link into the web app: PUBLIC_URL/page?token=..."""
    url = f"{settings.public_url.rstrip('/')}/{page}"
    return f"{url}?token={token}" if token else url


async def _send_verification(context: JobContext, user_id: uuid.UUID) -> None:
    settings = _settings(context)
    async with session_for(context) as session:
        user = await crud.get_user(session, user_id)
        if user is None or user.email_verified:
            return
        lifetime = timedelta(hours=settings.verify_email_hours)
        token = await crud.add_account_token(session, user.id, VERIFY_EMAIL, lifetime)
        await session.commit()
        email = user.email
    message = mail.compose(
        settings,
        email,
        "verify_email",
        email=email,
        link=link(settings, "verify-email", token),
        hours=settings.verify_email_hours,
    )
    await mail.send(settings, message)


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
async def registration_attempted(context: JobContext, email: str) -> None:
    """Someone registered an address that has an account: its owner hears of it (the request was
    answered exactly as for a new account)."""
    settings = _settings(context)
    message = mail.compose(
        settings, email, "account_exists", email=email, link=link(settings, "forgot-password")
    )
    await mail.send(settings, message)


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def password_reset_requested(context: JobContext, email: str) -> None:
    """A reset link, if the address has an active account; nothing otherwise."""
    settings = _settings(context)
    async with session_for(context) as session:
        user = await crud.get_user_by_email(session, email)
        if user is None or not user.is_active:
            return
        lifetime = timedelta(minutes=settings.password_reset_minutes)
        token = await crud.add_account_token(session, user.id, RESET_PASSWORD, lifetime)
        await session.commit()
    message = mail.compose(
        settings,
        email,
        "reset_password",
        email=email,
        link=link(settings, "reset-password", token),
        minutes=settings.password_reset_minutes,
    )
    await mail.send(settings, message)


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def email_change_requested(context: JobContext, user_id: str, new_email: str) -> None:
    """The confirmation link, to the new address: the email changes once it is opened."""
    settings = _settings(context)
    async with session_for(context) as session:
        lifetime = timedelta(hours=settings.verify_email_hours)
        token = await crud.add_account_token(
            session, uuid.UUID(user_id), VERIFY_EMAIL, lifetime, new_email=new_email
        )
        await session.commit()
    message = mail.compose(
        settings,
        new_email,
        "change_email",
        email=new_email,
        link=link(settings, "verify-email", token),
        hours=settings.verify_email_hours,
    )
    await mail.send(settings, message)


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def email_change_notice(context: JobContext, email: str, new_email: str) -> None:
    """A word to the current address, in case the change is not its owner's doing."""
    settings = _settings(context)
    message = mail.compose(
        settings,
        email,
        "email_change_notice",
        email=email,
        new_email=new_email,
        link=link(settings, "forgot-password"),
    )
    await mail.send(settings, message)
