"""Database reads and writes. Routes call these; the functions that write also commit."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Row, and_, or_, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import audit
from app.core.security import new_link_token
from app.jobs import accounts
from app.jobs.queue import enqueue
from app.models import (
    AccountToken,
    AuditEvent,
    Item,
    ItemCreate,
    ItemPublic,
    ItemUpdate,
    RefreshToken,
    User,
    UserPublic,
    UserRegister,
    utcnow,
)


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
    notify: bool,
) -> None:
    """Create the account unless the address has one, with the same statements either way (the
    time would tell which addresses have accounts): one insert that does nothing on a taken
    email, one event, and one job that then mails the verification link, or a notice to the
    owner (when `notify`). Commits."""
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
    # A taken address's event names no account: finding it would be one more query.
    kind, target = (audit.REGISTERED, user_id) if created else (audit.REGISTRATION_ATTEMPTED, None)
    audit.record(session, kind, actor_id=target, target_user_id=target, ip=ip)
    job = {"email": data.email, "user_id": str(target) if target else None, "notify": notify}
    await enqueue(session, accounts.registration_received, **job)
    await session.commit()


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
    session holds; False, and nothing done, when they are the last active admin."""
    # As when an admin steps down (admin.py): the active admins' rows stay locked until the
    # delete commits, so the last two cannot both go at once.
    admins = await lock_active_admins(session) if user.role == "admin" else set()
    if user.id in admins and len(admins) <= 1:
        await session.rollback()
        return False
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
    """Everything stored about the user, as JSON values (what a data export request gets)."""
    items = await session.exec(
        select(Item).where(col(Item.owner_id) == user.id).order_by(col(Item.created_at))
    )
    return {
        "exported_at": utcnow().isoformat(),
        "user": UserPublic.model_validate(user, from_attributes=True).model_dump(mode="json"),
        "items": [
            ItemPublic.model_validate(item, from_attributes=True).model_dump(mode="json")
            for item in items.all()
        ],
    }


# --- admin ---------------------------------------------------------------------------------------
def _like(text: str) -> str:
    """`text` as a LIKE pattern that matches it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_users(
    session: AsyncSession, q: str | None, offset: int, limit: int
) -> tuple[Sequence[User], int]:
    """Users whose email or name contains `q` (any case), newest first, and how many match."""
    condition = true()
    if q:
        pattern = _like(q.lower())
        condition = or_(
            col(User.email).like(pattern, escape="\\"),
            func.lower(col(User.full_name)).like(pattern, escape="\\"),
        )
    count = await session.exec(select(func.count()).select_from(User).where(condition))
    users = await session.exec(
        select(User)
        .where(condition)
        .order_by(col(User.created_at).desc(), col(User.id))
        .offset(offset)
        .limit(limit)
    )
    return users.all(), count.one()


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


async def list_audit_events(
    session: AsyncSession,
    user_id: uuid.UUID | None,
    kind: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[AuditEvent], int]:
    """Events about or by `user_id`, of `kind`, newest first, and how many match."""
    condition = true()
    if user_id is not None:
        condition = or_(
            col(AuditEvent.target_user_id) == user_id, col(AuditEvent.actor_id) == user_id
        )
    if kind:
        condition = and_(condition, col(AuditEvent.kind) == kind)
    count = await session.exec(select(func.count()).select_from(AuditEvent).where(condition))
    events = await session.exec(
        select(AuditEvent)
        .where(condition)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id))
        .offset(offset)
        .limit(limit)
    )
    return events.all(), count.one()


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


# --- items ---------------------------------------------------------------------------------------
async def list_items(
    session: AsyncSession, owner_id: uuid.UUID, offset: int, limit: int
) -> tuple[Sequence[Item], int]:
    """One page of the owner's items, newest first, and how many they have in all."""
    owned = col(Item.owner_id) == owner_id
    count = (await session.exec(select(func.count()).select_from(Item).where(owned))).one()
    page = await session.exec(
        select(Item)
        .where(owned)
        .order_by(col(Item.created_at).desc(), col(Item.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return page.all(), count


async def get_item(session: AsyncSession, owner_id: uuid.UUID, item_id: uuid.UUID) -> Item | None:
    """The item when it exists and belongs to `owner_id`: other users' items are not found."""
    item = await session.get(Item, item_id)
    return item if item is not None and item.owner_id == owner_id else None


async def create_item(session: AsyncSession, owner_id: uuid.UUID, data: ItemCreate) -> Item:
    item = Item.model_validate(data, update={"owner_id": owner_id})
    session.add(item)
    await session.commit()
    return item


async def update_item(session: AsyncSession, item: Item, data: ItemUpdate) -> Item:
    item.sqlmodel_update(data.model_dump(exclude_unset=True), update={"updated_at": utcnow()})
    session.add(item)
    await session.commit()
    return item


async def delete_item(session: AsyncSession, item: Item) -> None:
    await session.delete(item)
    await session.commit()
