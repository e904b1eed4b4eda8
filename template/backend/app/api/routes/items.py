"""The signed-in user's items. Other users' items answer 404, exactly like missing ones."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from app import crud
from app.api.deps import (
    MALFORMED_BODY,
    SIGNED_IN,
    CurrentUserDep,
    Responses,
    SessionDep,
    SessionmakerDep,
)
from app.core.cache import Cache, Cached, CachedRead, Invalidates, shape
from app.models import (
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    ItemCreate,
    ItemPublic,
    ItemsPublic,
    ItemUpdate,
    Message,
)

router = APIRouter(prefix="/items", tags=["items"], responses=SIGNED_IN)

NOT_FOUND: Responses = {404: {"model": Message, "description": "No such item among yours"}}
# The shapes the cache keys of this module carry: fingerprints of the models they hold.
ITEM_SHAPE = shape(ItemPublic)
PAGE_SHAPE = shape(ItemsPublic)
# What each route caches, for how long, and which writes invalidate it.
CachedPage = Annotated[CachedRead, Depends(Cached("items", "high_change"))]
CachedItem = Annotated[CachedRead, Depends(Cached("item", "medium_change"))]
ChangesItems = Annotated[Cache, Depends(Invalidates("items", "item"))]


def item_not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="Item not found")


def item_key(owner_id: uuid.UUID, item_id: uuid.UUID) -> str:
    """A single item's cache entry: kept when other items change (see Cache)."""
    return f"item:{ITEM_SHAPE}:{owner_id}:{item_id}"


@router.get("", response_model=ItemsPublic)
async def list_items(
    user: CurrentUserDep,
    sessions: SessionmakerDep,
    cache: CachedPage,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Response:
    """A page of your items, newest first, with `count`, the number of all your items."""

    async def load() -> ItemsPublic:
        async with sessions() as session:
            items, count = await crud.list_items(session, user.id, offset, limit)
        return ItemsPublic(
            data=[ItemPublic.model_validate(item, from_attributes=True) for item in items],
            count=count,
        )

    key = f"items:{PAGE_SHAPE}:{user.cache_namespace}:list:{offset}:{limit}"
    return await cache.json(key, load)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ItemPublic, responses=MALFORMED_BODY
)
async def create_item(
    data: ItemCreate,
    user: CurrentUserDep,
    session: SessionDep,
    cache: ChangesItems,
    request: Request,
    response: Response,
) -> ItemPublic:
    item = await crud.create_item(session, user.id, data)
    await cache.invalidate(user.id)
    # Where the new item lives: clients (and schemathesis's stateful tests) follow it.
    response.headers["Location"] = str(request.url_for("read_item", item_id=item.id))
    return ItemPublic.model_validate(item, from_attributes=True)


@router.get("/{item_id}", response_model=ItemPublic, responses=NOT_FOUND)
async def read_item(
    item_id: uuid.UUID, user: CurrentUserDep, sessions: SessionmakerDep, cache: CachedItem
) -> Response:
    async def load() -> ItemPublic:
        async with sessions() as session:
            item = await crud.get_item(session, user.id, item_id)
        if item is None:
            raise item_not_found()
        return ItemPublic.model_validate(item, from_attributes=True)

    return await cache.json(item_key(user.id, item_id), load)


@router.patch("/{item_id}", response_model=ItemPublic, responses={**NOT_FOUND, **MALFORMED_BODY})
async def update_item(
    item_id: uuid.UUID,
    data: ItemUpdate,
    user: CurrentUserDep,
    session: SessionDep,
    cache: ChangesItems,
) -> ItemPublic:
    item = await crud.get_item(session, user.id, item_id)
    if item is None:
        raise item_not_found()
    item = await crud.update_item(session, item, data)
    await cache.invalidate(user.id, item_key(user.id, item_id))
    return ItemPublic.model_validate(item, from_attributes=True)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_item(
    item_id: uuid.UUID, user: CurrentUserDep, session: SessionDep, cache: ChangesItems
) -> None:
    item = await crud.get_item(session, user.id, item_id)
    if item is None:
        raise item_not_found()
    await crud.delete_item(session, item)
    await cache.invalidate(user.id, item_key(user.id, item_id))
