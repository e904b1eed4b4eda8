"""Who the caller is in the organisation a request names: a member with a role, or nobody (404,
exactly as for an organisation that does not exist). Each check is one declared dependency:

    @router.patch("/{org_id}", dependencies=[org_role("admin")])
"""

import uuid
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from pydantic import Field
from sqlmodel import SQLModel

from app.accounts.deps import CurrentUserDep
from app.cache import Cache
from app.orgs import crud
from app.orgs.models import Organisation, ranks


class OrgAccess(SQLModel):
    """The caller's membership of an organisation. `id` is the organisation's: its cached reads
    are keyed by it (app/cache), so a write by one member invalidates what every member reads."""

    id: uuid.UUID
    name: str
    personal: bool
    role: str
    user_id: uuid.UUID
    cache_namespace: str = Field(default="", exclude=True)


def org_not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="Organisation not found")


async def access(request: Request, org: Organisation, role: str, user_id: uuid.UUID) -> OrgAccess:
    cache: Cache = request.app.state.cache
    return OrgAccess(
        id=org.id,
        name=org.name,
        personal=org.personal_of is not None,
        role=role,
        user_id=user_id,
        cache_namespace=await cache.namespace(org.id),
    )


async def org_member(org_id: uuid.UUID, user: CurrentUserDep, request: Request) -> OrgAccess:
    """The caller's membership of the organisation `org_id`; 404 when they have none."""
    async with request.app.state.sessionmaker() as session:
        found = await crud.membership(session, org_id, user.id)
    if found is None:
        raise org_not_found()
    org, role = found
    return await access(request, org, role, user.id)


async def personal_org(user: CurrentUserDep, request: Request) -> OrgAccess:
    """The caller's personal organisation (what `/api/v1/items` reads and writes)."""
    async with request.app.state.sessionmaker() as session:
        org = await crud.personal_org(session, user.id)
    return await access(request, org, "owner", user.id)


OrgMemberDep = Annotated[OrgAccess, Depends(org_member)]


def org_role(needed: str) -> Any:
    """A route dependency: the caller's membership, 403 unless their role ranks `needed` or above
    (an owner does what an admin does)."""

    async def check(member: OrgMemberDep) -> OrgAccess:
        if not ranks(member.role, needed):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"Your role here ({member.role}) cannot do that."
            )
        return member

    check.org_role = needed  # type: ignore[attr-defined]  (read by tests/orgs/test_tenants.py)
    return Depends(check)


OrgAdmin = Annotated[OrgAccess, org_role("admin")]
OrgOwner = Annotated[OrgAccess, org_role("owner")]
