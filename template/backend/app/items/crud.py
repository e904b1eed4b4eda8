"""The items' database reads and writes; the functions that write also commit."""

import uuid
from collections.abc import Sequence

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.crud import exported
from app.core.db import utcnow
from app.items.models import Item, ItemCreate, ItemPublic, ItemUpdate


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


@exported("items")
async def export_items(session: AsyncSession, owner_id: uuid.UUID) -> list[dict[str, object]]:
    """The owner's items for their data export, oldest first."""
    items = await session.exec(
        select(Item).where(col(Item.owner_id) == owner_id).order_by(col(Item.created_at))
    )
    return [
        ItemPublic.model_validate(item, from_attributes=True).model_dump(mode="json")
        for item in items.all()
    ]
