"""What the organisations' tests share: an organisation with an item, and members added straight
to its table (the invitation flow has tests of its own)."""

import uuid

from fastapi import FastAPI
from httpx import AsyncClient

from app.accounts import crud as account_crud
from app.orgs import crud
from tests.utils import API, Account, signup


def app_of(client: AsyncClient) -> FastAPI:
    return client._transport.app  # type: ignore[attr-defined]


async def new_org(client: AsyncClient, owner: Account, name: str | None = None) -> str:
    """A new organisation of `owner`'s; its id."""
    name = name or f"Org {uuid.uuid4().hex[:8]}"
    response = await client.post(f"{API}/orgs", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "owner"
    return response.json()["id"]


async def add_member(
    client: AsyncClient, org_id: str, role: str = "member", account: Account | None = None
) -> Account:
    """`account` (else a new one), a member of the organisation with `role`."""
    account = account or await signup(client)
    async with app_of(client).state.sessionmaker() as session:
        user = await account_crud.get_user_by_email(session, account.email)
        assert user is not None
        await crud.join(session, uuid.UUID(org_id), user.id, role)
        await session.commit()
    return account


async def user_id(client: AsyncClient, account: Account) -> str:
    return (await client.get(f"{API}/users/me", headers=account.headers)).json()["id"]
