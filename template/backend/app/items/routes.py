"""The signed-in user's items. Other users' items answer 404, exactly like missing ones."""

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from app.accounts.deps import (
    ApiRateLimit,
    CurrentUserDep,
    LagTolerantSessionsDep,
    get_current_user,
)
from app.api.deps import MALFORMED_BODY, SIGNED_IN, Responses, SessionDep
from app.api.schemas import MAX_OFFSET, MAX_PAGE_SIZE, Message
from app.cache import cached, invalidates
from app.items import crud
from app.items.models import ItemCreate, ItemPublic, ItemsPublic, ItemUpdate

router = APIRouter(
    prefix="/items", tags=["items"], responses=SIGNED_IN, dependencies=[ApiRateLimit]
)

NOT_FOUND: Responses = {404: {"model": Message, "description": "No such item among yours"}}
# What the reads cache, for how long, and whose it is; what the writes change (app/cache).
ItemsPage = cached("items", ItemsPublic, "high_change", owner=get_current_user)
OneItem = cached("item", ItemPublic, "medium_change", owner=get_current_user, by="item_id")
ChangesItems = invalidates(ItemsPage, OneItem)


def item_not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="Item not found")


@router.get("", response_model=ItemsPublic)
async def list_items(
    user: CurrentUserDep,
    sessions: LagTolerantSessionsDep,
    cache: ItemsPage,
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

    return await cache.json(load)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemPublic,
    responses=MALFORMED_BODY,
    dependencies=[ChangesItems],
)
async def create_item(
    data: ItemCreate,
    user: CurrentUserDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> ItemPublic:
    item = await crud.create_item(session, user.id, data)
    # Where the new item lives: clients (and schemathesis's stateful tests) follow it.
    response.headers["Location"] = str(request.url_for("read_item", item_id=item.id))
    return ItemPublic.model_validate(item, from_attributes=True)


@router.get("/{item_id}", response_model=ItemPublic, responses=NOT_FOUND)
async def read_item(
    item_id: uuid.UUID, user: CurrentUserDep, sessions: LagTolerantSessionsDep, cache: OneItem
) -> Response:
    async def load() -> ItemPublic:
        async with sessions() as session:
            item = await crud.get_item(session, user.id, item_id)
        if item is None:
            raise item_not_found()
        return ItemPublic.model_validate(item, from_attributes=True)

    return await cache.json(load)


@router.patch(
    "/{item_id}",
    response_model=ItemPublic,
    responses={**NOT_FOUND, **MALFORMED_BODY},
    dependencies=[ChangesItems],
)
async def update_item(
    item_id: uuid.UUID, data: ItemUpdate, user: CurrentUserDep, session: SessionDep
) -> ItemPublic:
    item = await crud.get_item(session, user.id, item_id)
    if item is None:
        raise item_not_found()
    item = await crud.update_item(session, item, data)
    return ItemPublic.model_validate(item, from_attributes=True)


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
    dependencies=[ChangesItems],
)
async def delete_item(item_id: uuid.UUID, user: CurrentUserDep, session: SessionDep) -> None:
    item = await crud.get_item(session, user.id, item_id)
    if item is None:
        raise item_not_found()
    await crud.delete_item(session, item)
