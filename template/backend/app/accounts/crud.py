"""Accounts' database reads and writes. Routes and jobs call these; most writes commit."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import audit
from app.accounts.models import AccountToken, RefreshToken, User, UserPublic, UserRegister
from app.core.db import utcnow
from app.core.security import new_link_token

# What each domain adds to a user's data export: its name in the export -> a reader of the user's
# rows as JSON values. A domain registers its own (`@exported("items")` in app/items/crud.py).
Exporter = Callable[[AsyncSession, uuid.UUID], Awaitable[list[dict[str, object]]]]
EXPORTERS: dict[str, Exporter] = {}


def exported(name: str) -> Callable[[Exporter], Exporter]:
    """Register a reader of a user's rows for the data export (GET /users/me/export)."""

    def register(rows: Exporter) -> Exporter:
        EXPORTERS[name] = rows
        return rows

    return register


# What other domains add to a new account, in its transaction: called with the session and the
# id `register_user` tried, for a taken address too (the same statements either way), so each must
# do nothing when no such user was created.
SignUpHook = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]
SIGN_UP_HOOKS: list[SignUpHook] = []


def registered(hook: SignUpHook) -> SignUpHook:
    """Register `hook` to run in the transaction of every registration."""
    SIGN_UP_HOOKS.append(hook)
    return hook


# What other domains do before an account is deleted, in its transaction: each may raise a
# CodedError (app/api/errors.py) to refuse, or move what must outlive the account.
DeletionHook = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]
DELETION_HOOKS: list[DeletionHook] = []


def before_deletion(hook: DeletionHook) -> DeletionHook:
    """Register `hook` to run before every account deletion, in its transaction."""
    DELETION_HOOKS.append(hook)
    return hook


# --- users ---------------------------------------------------------------------------------------
async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.exec(select(User).where(User.email == email.lower()))
    return result.first()


async def register_user(
    session: AsyncSession,
    data: UserRegister,
    hashed_password: str,
    *,
    ip: str | None,
) -> uuid.UUID | None:
    """Create the account unless the address has one, with the same statements either way (the
    time would tell which addresses have accounts): one insert that does nothing on a taken
    email, and one event. The new account's id, None for a taken address; the caller enqueues
    the job that mails either (the same statement again) and commits."""
    user_id = uuid.uuid4()
    row = User(
        id=user_id, email=data.email, full_name=data.full_name, hashed_password=hashed_password
    ).model_dump()
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    inserted = await session.exec(
        dialect.insert(User)  # type: ignore[call-overload]
        .values(**row)
        .on_conflict_do_nothing(index_elements=[col(User.email)])
        .returning(col(User.id))
    )
    created = inserted.first() is not None
    for hook in SIGN_UP_HOOKS:
        await hook(session, user_id)
    # A taken address's event names no account: finding it would be one more query.
    kind, target = (audit.REGISTERED, user_id) if created else (audit.REGISTRATION_ATTEMPTED, None)
    audit.record(session, kind, actor_id=target, target_user_id=target, ip=ip)
    return target


async def update_password_hash(session: AsyncSession, user: User, hashed_password: str) -> None:
    user.hashed_password = hashed_password
    session.add(user)
    await session.commit()


async def set_password(session: AsyncSession, user: User, hashed_password: str) -> None:
    """A new password signs out every session: refresh tokens revoked, access tokens outdated,
    emailed links dead."""
    user.hashed_password = hashed_password
    await sign_out_everywhere(session, user)


async def sign_out_everywhere(session: AsyncSession, user: User) -> None:
    await end_sessions(session, user)
    await session.commit()


async def end_sessions(session: AsyncSession, user: User) -> None:
    """Sign out every session of the user (the caller commits): access tokens outdated, refresh
    tokens revoked, and the unused links of their emails dead too. A reset link sent before the
    password changed must not set another one; a pending email change asked for with the old
    password must not go through."""
    user.session_version += 1
    session.add(user)
    await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.used_at).is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await revoke_account_tokens(session, user.id)


async def delete_user(session: AsyncSession, user: User) -> bool:
    """The user and everything of theirs (items, tokens: ON DELETE CASCADE), with what the
    session holds; False, and nothing done, when they are the last active admin. A deletion hook
    may refuse by raising (the caller's session then rolls back)."""
    # As when an admin steps down (admin.py): the active admins' rows stay locked until the
    # delete commits, so the last two cannot both go at once.
    admins = await lock_active_admins(session) if user.role == "admin" else set()
    if user.id in admins and len(admins) <= 1:
        await session.rollback()
        return False
    for hook in DELETION_HOOKS:
        await hook(session, user.id)
    await session.delete(user)
    if user.id in admins:
        # SQLite has no row locks: counting again after the write sees a change committed first.
        await session.flush()
        if await count_active_admins(session) < 1:
            await session.rollback()
            return False
    await session.commit()
    return True


async def export_user(session: AsyncSession, user: User) -> dict[str, object]:
    """Everything stored about the user, as JSON values (what a data export request gets): their
    record, and what every domain registered with `exported` holds of theirs."""
    export: dict[str, object] = {
        "exported_at": utcnow().isoformat(),
        "user": UserPublic.model_validate(user, from_attributes=True).model_dump(mode="json"),
    }
    for name, rows in EXPORTERS.items():
        export[name] = await rows(session, user.id)
    return export


# --- admins -------------------------------------------------------------------------------------
async def lock_active_admins(session: AsyncSession) -> set[uuid.UUID]:
    """The active admins' ids, their rows locked until the transaction ends (FOR UPDATE on
    PostgreSQL, in id order so two callers never deadlock): another admin change waits for this
    transaction, then sees what it did. SQLite has no row locks; its writers take turns."""
    result = await session.exec(
        select(User.id)
        .where(col(User.role) == "admin", col(User.is_active).is_(True))
        .order_by(col(User.id))
        .with_for_update()
    )
    return set(result.all())


async def count_active_admins(session: AsyncSession) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(User)
        .where(col(User.role) == "admin", col(User.is_active).is_(True))
    )
    return result.one()


# --- emailed link tokens -------------------------------------------------------------------------
async def add_account_token(
    session: AsyncSession,
    user_id: uuid.UUID,
    purpose: str,
    lifetime: timedelta,
    *,
    email: str,
    session_version: int,
    new_email: str | None = None,
) -> str:
    """A new link token (the caller commits), bound to the account's `email` and
    `session_version` as they were when the link was asked for; the user's unused ones of this
    purpose stop working, so only the newest link does."""
    await session.exec(
        update(AccountToken)
        .where(
            col(AccountToken.user_id) == user_id,
            col(AccountToken.purpose) == purpose,
            col(AccountToken.used_at).is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    token, digest = new_link_token()
    session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose,
            digest=digest,
            new_email=new_email,
            expires_at=utcnow() + lifetime,
            email=email,
            session_version=session_version,
        )
    )
    return token


async def revoke_account_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every unused link token of the user stops working (the caller commits): when the password
    or the address changes, a link sent before belongs to what was, not to what is."""
    await session.exec(
        update(AccountToken)
        .where(col(AccountToken.user_id) == user_id, col(AccountToken.used_at).is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def use_account_token(
    session: AsyncSession, digest: str, purpose: str
) -> Row[tuple[uuid.UUID, str | None]] | None:
    """Mark the token used and return its (user_id, new_email); None when it is unknown, used,
    expired, for another purpose, or its account's address or session version is no longer the
    one it was made for. One conditional UPDATE, so a link opened twice at once works once. The
    caller commits."""
    now = utcnow()
    # Checked here, not only revoked where they change: a link made while the account changed
    # (a job racing a password change), or code that forgets to revoke, still binds.
    still_bound = (
        select(User.id)
        .where(
            col(User.id) == col(AccountToken.user_id),
            col(User.email) == col(AccountToken.email),
            col(User.session_version) == col(AccountToken.session_version),
        )
        .exists()
    )
    result = await session.exec(
        update(AccountToken)
        .where(
            col(AccountToken.digest) == digest,
            col(AccountToken.purpose) == purpose,
            col(AccountToken.used_at).is_(None),
            col(AccountToken.expires_at) > now,
            still_bound,
        )
        .values(used_at=now)
        .returning(col(AccountToken.user_id), col(AccountToken.new_email))
        .execution_options(synchronize_session=False)
    )
    return result.first()


# --- refresh tokens ------------------------------------------------------------------------------
async def add_refresh_token(
    session: AsyncSession, token_id: uuid.UUID, user_id: uuid.UUID, expires_at: datetime
) -> None:
    # A user's expired tokens are of no use: delete them while we are here (indexed by user).
    await session.exec(
        delete(RefreshToken).where(
            col(RefreshToken.user_id) == user_id, col(RefreshToken.expires_at) < utcnow()
        )
    )
    session.add(RefreshToken(id=token_id, user_id=user_id, expires_at=expires_at))
    await session.commit()


async def use_refresh_token(session: AsyncSession, token_id: uuid.UUID) -> bool:
    """Mark the token used; False when it is unknown, expired or already used.

    One conditional UPDATE, so two concurrent refreshes with the same token cannot both succeed.
    """
    now = utcnow()
    result = await session.exec(
        update(RefreshToken)
        .where(
            col(RefreshToken.id) == token_id,
            col(RefreshToken.used_at).is_(None),
            col(RefreshToken.expires_at) > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return result.rowcount == 1


async def revoke_refresh_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every unused refresh token of the user stops working (a reused token means one leaked)."""
    await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.used_at).is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.commit()
