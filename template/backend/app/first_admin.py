"""FIRST_ADMIN_EMAIL: that account exists and is an admin after start-up, however many times the
API starts. A new account gets FIRST_ADMIN_PASSWORD, or, without one, an emailed link to set a
password (with SMTP_HOST unset: on /dev/inbox under `make dev`, else in the log). An existing
account is promoted, password kept."""

import logging
import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import audit
from app.accounts import crud
from app.accounts import jobs as accounts
from app.accounts.models import User
from app.cache import Cache
from app.core.config import Settings
from app.core.security import hash_password
from app.jobs.queue import enqueue

logger = logging.getLogger(__name__)


async def ensure_first_admin(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], cache: Cache
) -> None:
    if not settings.first_admin_email:
        return
    email = settings.first_admin_email.strip().lower()
    async with sessionmaker() as session:
        user = await crud.get_user_by_email(session, email)
        if user is not None:
            if user.role == "admin":
                return
            user.role = "admin"
            session.add(user)
            audit.record(session, audit.FIRST_ADMIN, target_user_id=user.id, promoted=True)
            await session.commit()
            await cache.forget_owner_record(user.id)
            logger.info("FIRST_ADMIN_EMAIL: promoted the existing account to admin")
            return
        password = settings.first_admin_password or secrets.token_urlsafe(32)
        user = User(
            email=email,
            hashed_password=await hash_password(password),
            role="admin",
            email_verified=True,  # the founder named this address
        )
        session.add(user)
        audit.record(session, audit.FIRST_ADMIN, target_user_id=user.id, created=True)
        if not settings.first_admin_password:
            await enqueue(session, accounts.password_reset_requested, email=email)
        try:
            await session.commit()
        except IntegrityError:  # another worker process created it a moment ago
            return
    logger.info("FIRST_ADMIN_EMAIL: created the admin account")
