"""Database reads and writes. Routes call these; the functions that write also commit."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.jobs import example
from app.jobs.queue import enqueue
from app.models import Item, ItemCreate, ItemUpdate, RefreshToken, User, UserRegister, utcnow


# --- users ---------------------------------------------------------------------------------------
async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.exec(select(User).where(User.email == email.lower()))
    return result.first()


async def create_user(session: AsyncSession, data: UserRegister, hashed_password: str) -> User:
    """Raises sqlalchemy.exc.IntegrityError when the email is taken."""
    user = User(email=data.email, full_name=data.full_name, hashed_password=hashed_password)
    session.add(user)
    await enqueue(session, example.welcome, user_id=str(user.id))  # commits with the user
    await session.commit()
    return user


async def update_password_hash(session: AsyncSession, user: User, hashed_password: str) -> None:
    user.hashed_password = hashed_password
    session.add(user)
    await session.commit()


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
