"""Organisations' database reads and writes. The functions that write also commit, unless they
say the caller does."""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from fastapi import status
from sqlalchemy import Row, exists, literal
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, func, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.crud import before_deletion, exported, registered
from app.accounts.models import User
from app.api.errors import CodedError, ErrorCode
from app.core.db import utcnow
from app.orgs.models import Invitation, Membership, Organisation

PERSONAL_NAME = "Personal"


# --- organisations -------------------------------------------------------------------------------
@registered
async def add_personal_org(session: AsyncSession, user_id: uuid.UUID) -> None:
    """At sign-up, in its transaction: the account's personal organisation, the account its owner.
    The same two statements whether the address was new or taken (they insert nothing for an
    account that was not created), so registering takes the same time either way."""
    org_id = uuid.uuid4()
    user_exists = exists().where(col(User.id) == user_id)
    await session.exec(
        insert(Organisation).from_select(  # type: ignore[call-overload]
            ["id", "name", "personal_of", "created_at"],
            select(
                literal(org_id), literal(PERSONAL_NAME), literal(user_id), literal(utcnow())
            ).where(user_exists),
        )
    )
    await session.exec(
        insert(Membership).from_select(  # type: ignore[call-overload]
            ["org_id", "user_id", "role", "created_at"],
            select(literal(org_id), literal(user_id), literal("owner"), literal(utcnow())).where(
                exists().where(col(Organisation.id) == org_id)
            ),
        )
    )


async def personal_org(session: AsyncSession, user_id: uuid.UUID) -> Organisation:
    """The user's personal organisation, made now for an account that has none (the first admin,
    a sign-in with a provider): commits when it makes one."""
    found = await session.exec(select(Organisation).where(col(Organisation.personal_of) == user_id))
    org = found.first()
    if org is not None:
        return org
    org = Organisation(name=PERSONAL_NAME, personal_of=user_id)
    try:
        session.add(org)
        await session.flush()  # no relationship tells SQLAlchemy the order: the row first
        session.add(Membership(org_id=org.id, user_id=user_id, role="owner"))
        await session.commit()
    except IntegrityError:  # another request made it first
        await session.rollback()
        found = await session.exec(
            select(Organisation).where(col(Organisation.personal_of) == user_id)
        )
        return found.one()
    return org


async def create_org(session: AsyncSession, owner_id: uuid.UUID, name: str) -> Organisation:
    """A new organisation, `owner_id` its owner (the caller records the event and commits)."""
    org = Organisation(name=name)
    session.add(org)
    await session.flush()  # no relationship tells SQLAlchemy the order: the row first
    session.add(Membership(org_id=org.id, user_id=owner_id, role="owner"))
    await session.flush()
    return org


async def list_orgs_of(
    session: AsyncSession, user_id: uuid.UUID
) -> Sequence[Row[tuple[Organisation, str]]]:
    """The user's organisations with their role in each, the personal one first, then by name."""
    result = await session.exec(
        select(Organisation, Membership.role)
        .join(Membership, col(Membership.org_id) == col(Organisation.id))
        .where(col(Membership.user_id) == user_id)
        .order_by(col(Organisation.personal_of).is_(None), col(Organisation.name))
    )
    return result.all()


async def membership(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID
) -> Row[tuple[Organisation, str]] | None:
    """The organisation and the user's role in it; None when it does not exist or they are not a
    member (the two look the same to the caller)."""
    result = await session.exec(
        select(Organisation, Membership.role)
        .join(Membership, col(Membership.org_id) == col(Organisation.id))
        .where(col(Organisation.id) == org_id, col(Membership.user_id) == user_id)
    )
    return result.first()


async def get_org(session: AsyncSession, org_id: uuid.UUID) -> Organisation | None:
    return await session.get(Organisation, org_id)


async def delete_org(session: AsyncSession, org: Organisation) -> None:
    """The organisation and everything of it (members, invitations, items: ON DELETE CASCADE).
    The caller records the event and commits."""
    await session.delete(org)


async def list_all_orgs(
    session: AsyncSession, offset: int, limit: int
) -> tuple[Sequence[Row[tuple[Organisation, int]]], int]:
    """Every organisation with its number of members, newest first (the admin area)."""
    count = (await session.exec(select(func.count()).select_from(Organisation))).one()
    members = (
        select(func.count())
        .select_from(Membership)
        .where(col(Membership.org_id) == col(Organisation.id))
        .scalar_subquery()
    )
    page = await session.exec(
        select(Organisation, members)
        .order_by(col(Organisation.created_at).desc(), col(Organisation.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return page.all(), count


@exported("organisations")
async def export_memberships(session: AsyncSession, user_id: uuid.UUID) -> list[dict[str, object]]:
    """The user's organisations and roles, for their data export."""
    return [
        {"id": str(org.id), "name": org.name, "role": role}
        for org, role in await list_orgs_of(session, user_id)
    ]


@before_deletion
async def keep_shared_organisations(session: AsyncSession, user_id: uuid.UUID) -> None:
    """An account cannot go while it owns an organisation others use or that is not its personal
    one: that organisation would be left without an owner."""
    other = aliased(Membership)
    others = (
        select(func.count())
        .select_from(other)
        .where(col(other.org_id) == col(Organisation.id), col(other.user_id) != user_id)
        .scalar_subquery()
    )
    owned = await session.exec(
        select(Organisation.name)
        .join(Membership, col(Membership.org_id) == col(Organisation.id))
        .where(col(Membership.user_id) == user_id, col(Membership.role) == "owner")
        .where((col(Organisation.personal_of).is_(None)) | (others > 0))
        .limit(1)
    )
    name = owned.first()
    if name is not None:
        raise CodedError(
            status.HTTP_409_CONFLICT,
            ErrorCode.DELETION_BLOCKED,
            f"You own the organisation {name!r}: transfer it to another member or delete it first.",
        )


# --- members -------------------------------------------------------------------------------------
# What other domains check before an organisation gains a member (an invitation sent, or one used),
# in its transaction: each may raise a CodedError (app/api/errors.py) to refuse.
MemberHook = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]
MEMBER_HOOKS: list[MemberHook] = []


def before_adding_member(hook: MemberHook) -> MemberHook:
    """Register `hook` to run before an organisation invites or gains a member."""
    MEMBER_HOOKS.append(hook)
    return hook


async def check_new_member(session: AsyncSession, org_id: uuid.UUID) -> None:
    for hook in MEMBER_HOOKS:
        await hook(session, org_id)


async def count_members(session: AsyncSession, org_id: uuid.UUID) -> int:
    held = col(Membership.org_id) == org_id
    return (await session.exec(select(func.count()).select_from(Membership).where(held))).one()


async def list_members(
    session: AsyncSession, org_id: uuid.UUID
) -> Sequence[Row[tuple[Membership, User]]]:
    """The organisation's members, the owner first, then by address."""
    result = await session.exec(
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(col(Membership.org_id) == org_id)
        .order_by(col(Membership.role) != "owner", col(User.email))
    )
    return result.all()


async def get_member(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    return await session.get(Membership, (org_id, user_id))


async def remove_member(session: AsyncSession, member: Membership) -> None:
    """The caller records the event and commits."""
    await session.delete(member)


async def transfer(session: AsyncSession, owner: Membership, successor: Membership) -> None:
    """Ownership moves to `successor`; the owner stays on as an admin. The caller commits."""
    owner.role = "admin"
    session.add(owner)
    await session.flush()  # one owner at a time: the unique index checks each statement
    successor.role = "owner"
    session.add(successor)


# --- invitations ---------------------------------------------------------------------------------
def pending() -> list[object]:
    """The conditions of an invitation that can still be accepted."""
    return [
        col(Invitation.accepted_at).is_(None),
        col(Invitation.revoked_at).is_(None),
        col(Invitation.expires_at) > utcnow(),
    ]


async def list_invitations(session: AsyncSession, org_id: uuid.UUID) -> Sequence[Invitation]:
    """The organisation's pending invitations, newest first."""
    result = await session.exec(
        select(Invitation)
        .where(col(Invitation.org_id) == org_id, *pending())
        .order_by(col(Invitation.created_at).desc())
    )
    return result.all()


async def get_pending_invitation(
    session: AsyncSession, org_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    result = await session.exec(
        select(Invitation).where(
            col(Invitation.id) == invitation_id, col(Invitation.org_id) == org_id, *pending()
        )
    )
    return result.first()


async def is_member_by_email(session: AsyncSession, org_id: uuid.UUID, email: str) -> bool:
    result = await session.exec(
        select(Membership.user_id)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(col(Membership.org_id) == org_id, col(User.email) == email)
    )
    return result.first() is not None


async def invite(
    session: AsyncSession,
    org_id: uuid.UUID,
    email: str,
    role: str,
    invited_by: uuid.UUID,
    lifetime: timedelta,
) -> Invitation:
    """A pending invitation of `email`: the one already pending, with this role and a new expiry,
    else a new one. The caller enqueues the email and commits."""
    result = await session.exec(
        select(Invitation).where(
            col(Invitation.org_id) == org_id, col(Invitation.email) == email, *pending()
        )
    )
    invitation = result.first() or Invitation(
        org_id=org_id, email=email, role=role, expires_at=utcnow()
    )
    invitation.role, invitation.invited_by = role, invited_by
    invitation.expires_at = utcnow() + lifetime
    session.add(invitation)
    await session.flush()
    return invitation


async def set_invitation_token(
    session: AsyncSession, invitation_id: uuid.UUID, digest: str
) -> Invitation | None:
    """Give the pending invitation a new token (the old link stops working); None when it is no
    longer pending. The caller commits."""
    result = await session.exec(
        update(Invitation)
        .where(col(Invitation.id) == invitation_id, *pending())
        .values(digest=digest)
        .returning(col(Invitation.id))
        .execution_options(synchronize_session=False)
    )
    updated = result.first()
    return await session.get(Invitation, updated[0]) if updated else None


async def use_invitation(session: AsyncSession, digest: str, email: str) -> Invitation | None:
    """Mark the pending invitation of this token accepted, when it is `email`'s; None when the token
    is unknown, used, revoked or expired, or the invitation is another address's. One conditional
    UPDATE, so a link opened twice at once works once. The caller commits."""
    result = await session.exec(
        update(Invitation)
        .where(col(Invitation.digest) == digest, col(Invitation.email) == email, *pending())
        .values(accepted_at=utcnow())
        .returning(col(Invitation.id))
        .execution_options(synchronize_session=False)
    )
    used = result.first()
    return await session.get(Invitation, used[0]) if used else None


async def find_invitation(session: AsyncSession, digest: str) -> Invitation | None:
    """The pending invitation of this token, whoever it is for."""
    result = await session.exec(
        select(Invitation).where(col(Invitation.digest) == digest, *pending())
    )
    return result.first()


async def join(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    """Add the member, unless they already are one (their role stays). The caller commits."""
    if await get_member(session, org_id, user_id) is None:
        session.add(Membership(org_id=org_id, user_id=user_id, role=role))


async def revoke_invitation(session: AsyncSession, invitation: Invitation) -> None:
    invitation.revoked_at = utcnow()
    session.add(invitation)
