"""Organisations: create and list yours; read, rename, delete one; its members (change a role,
remove one, leave, transfer ownership) and its invitations by email (invite, list, revoke,
resend, accept, sign up from the link). A non-member gets 404 for anything under
`/orgs/{org_id}`, as for an organisation that does not exist; a member whose role is not enough,
403. Every change is an audit event naming the organisation."""

import uuid
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts import crud as account_crud
from app.accounts.auth_routes import bad_link, client_address, issue_tokens, limit_account_request
from app.accounts.deps import ApiRateLimit, CurrentUserDep
from app.accounts.models import Token, User
from app.api.deps import (
    MALFORMED_BODY,
    SIGNED_IN,
    CacheDep,
    RateLimiterDep,
    Responses,
    SessionDep,
    SessionmakerDep,
    SettingsDep,
    too_many_requests,
)
from app.api.schemas import Message
from app.cache import cached, invalidates
from app.core.security import hash_password, link_token_digest
from app.jobs.queue import enqueue
from app.orgs import crud, jobs
from app.orgs.deps import OrgAdmin, OrgMemberDep, OrgOwner, org_member
from app.orgs.models import (
    InvitationAccept,
    InvitationCreate,
    InvitationPublic,
    InvitationSignUp,
    InvitationsPublic,
    MemberPublic,
    Membership,
    MembersPublic,
    MemberUpdate,
    Organisation,
    OrgCreate,
    OrgDelete,
    OrgPublic,
    OrgsPublic,
    OrgUpdate,
    Transfer,
)
from app.rate_limit import RateLimiter

# The kinds of audit event; each names the organisation in its detail (`org_id`).
CREATED = "org.created"
RENAMED = "org.renamed"
DELETED = "org.deleted"
ROLE_CHANGED = "org.role_changed"
MEMBER_REMOVED = "org.member_removed"
LEFT = "org.left"
TRANSFERRED = "org.transferred"
INVITED = "org.invited"
INVITATION_REVOKED = "org.invitation_revoked"
JOINED = "org.joined"
# Every kind above, as the admin page names them (AUDIT_KINDS in admin-page.js).
KINDS = (
    CREATED, RENAMED, DELETED, ROLE_CHANGED, MEMBER_REMOVED, LEFT, TRANSFERRED, INVITED,
    INVITATION_REVOKED, JOINED,
)  # fmt: skip

router = APIRouter(
    prefix="/orgs",
    tags=["orgs"],
    responses={**SIGNED_IN, **MALFORMED_BODY},
    dependencies=[ApiRateLimit],
)
invitations_router = APIRouter(
    prefix="/invitations", tags=["invitations"], responses=MALFORMED_BODY
)

NOT_FOUND: Responses = {404: {"model": Message, "description": "No such organisation of yours"}}
FORBIDDEN: Responses = {403: {"model": Message, "description": "Your role cannot do that"}}
CONFLICT: Responses = {409: {"model": Message, "description": "Not while it is so"}}
BAD_LINK: Responses = {400: {"model": Message, "description": "Invalid, used or expired link"}}
# The organisation's members, cached for all of them: a change by any member invalidates it.
MembersPage = cached("org_members", MembersPublic, "medium_change", owner=org_member)
ChangesMembers = invalidates(MembersPage)


def public(org: Organisation, role: str) -> OrgPublic:
    personal = org.personal_of is not None
    return OrgPublic(
        id=org.id, name=org.name, personal=personal, created_at=org.created_at, role=role
    )


def conflict(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail)


def member_not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "No such member in this organisation.")


# --- organisations -------------------------------------------------------------------------------
@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrgPublic)
async def create_org(
    request: Request, data: OrgCreate, user: CurrentUserDep, session: SessionDep
) -> OrgPublic:
    """A new organisation; you are its owner."""
    org = await crud.create_org(session, user.id, data.name)
    audit.record(session, CREATED, request=request, actor_id=user.id, org_id=str(org.id))
    await session.commit()
    return public(org, "owner")


@router.get("", response_model=OrgsPublic)
async def list_orgs(user: CurrentUserDep, session: SessionDep) -> OrgsPublic:
    """Your organisations, your personal one first, each with your role in it."""
    await crud.personal_org(session, user.id)
    rows = await crud.list_orgs_of(session, user.id)
    return OrgsPublic(data=[public(org, role) for org, role in rows], count=len(rows))


@router.get("/{org_id}", response_model=OrgPublic, responses=NOT_FOUND)
async def read_org(member: OrgMemberDep, session: SessionDep) -> OrgPublic:
    org = await crud.get_org(session, member.id)
    if org is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Organisation not found")
    return public(org, member.role)


@router.patch("/{org_id}", response_model=OrgPublic, responses={**NOT_FOUND, **FORBIDDEN})
async def rename_org(
    request: Request, data: OrgUpdate, admin: OrgAdmin, session: SessionDep
) -> OrgPublic:
    """Rename the organisation (its admins and owner)."""
    org = await crud.get_org(session, admin.id)
    if org is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Organisation not found")
    detail = {"org_id": str(org.id), "old": org.name, "new": data.name}
    org.name = data.name
    session.add(org)
    audit.record(session, RENAMED, request=request, actor_id=admin.user_id, **detail)
    await session.commit()
    return public(org, admin.role)


@router.delete(
    "/{org_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **NOT_FOUND,
        **FORBIDDEN,
        **CONFLICT,
        400: {"model": Message, "description": "confirm_name is not its name"},
    },
)
async def delete_org(
    request: Request, body: OrgDelete, owner: OrgOwner, session: SessionDep, cache: CacheDep
) -> None:
    """Delete the organisation and its data (its owner, typing its name again to confirm). A
    personal organisation goes with its account."""
    org = await crud.get_org(session, owner.id)
    if org is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Organisation not found")
    if org.personal_of is not None:
        raise conflict("Your personal organisation goes only with your account.")
    if body.confirm_name != org.name:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "Type the organisation's name exactly to delete it."
        )
    audit.record(
        session, DELETED, request=request, actor_id=owner.user_id, org_id=str(org.id), name=org.name
    )
    await crud.delete_org(session, org)
    await session.commit()
    await cache.invalidate(org.id)


# --- members -------------------------------------------------------------------------------------
def member_public(membership: Membership, user: User) -> MemberPublic:
    return MemberPublic(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=membership.role,
        joined_at=membership.created_at,
    )


@router.get("/{org_id}/members", response_model=MembersPublic, responses=NOT_FOUND)
async def list_members(
    member: OrgMemberDep, sessions: SessionmakerDep, cache: MembersPage
) -> Response:
    """The organisation's members and their roles, the owner first."""

    async def load() -> MembersPublic:
        async with sessions() as session:
            rows = await crud.list_members(session, member.id)
        return MembersPublic(data=[member_public(m, user) for m, user in rows], count=len(rows))

    return await cache.json(load)


@router.patch(
    "/{org_id}/members/{user_id}",
    response_model=Message,
    responses={**NOT_FOUND, **FORBIDDEN, **CONFLICT},
    dependencies=[ChangesMembers],
)
async def change_role(
    request: Request, user_id: uuid.UUID, data: MemberUpdate, admin: OrgAdmin, session: SessionDep
) -> Message:
    """Make a member an admin or a member (its admins and owner); ownership moves by a transfer."""
    target = await crud.get_member(session, admin.id, user_id)
    if target is None:
        raise member_not_found()
    if target.role == "owner":
        raise conflict("The owner's role changes only by transferring the ownership.")
    detail = {"org_id": str(admin.id), "old": target.role, "new": data.role}
    target.role = data.role
    session.add(target)
    audit.record(
        session,
        ROLE_CHANGED,
        request=request,
        actor_id=admin.user_id,
        target_user_id=user_id,
        **detail,
    )
    await session.commit()
    return Message(detail=f"The member is now {data.role}.")


@router.delete(
    "/{org_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **FORBIDDEN, **CONFLICT},
    dependencies=[ChangesMembers],
)
async def remove_member(
    request: Request, user_id: uuid.UUID, member: OrgMemberDep, session: SessionDep
) -> None:
    """Remove a member (its admins and owner), or leave (your own id). The owner can neither
    leave nor be removed: transfer the ownership first."""
    leaving = user_id == member.user_id
    if not leaving and member.role not in {"owner", "admin"}:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only an admin may remove a member.")
    target = await crud.get_member(session, member.id, user_id)
    if target is None:
        raise member_not_found()
    if target.role == "owner":
        raise conflict("The owner cannot leave or be removed: transfer the ownership first.")
    await crud.remove_member(session, target)
    kind = LEFT if leaving else MEMBER_REMOVED
    audit.record(
        session,
        kind,
        request=request,
        actor_id=member.user_id,
        target_user_id=user_id,
        org_id=str(member.id),
    )
    await session.commit()


@router.post(
    "/{org_id}/transfer",
    response_model=Message,
    responses={**NOT_FOUND, **FORBIDDEN},
    dependencies=[ChangesMembers],
)
async def transfer(
    request: Request, data: Transfer, owner: OrgOwner, session: SessionDep
) -> Message:
    """Hand the ownership to another member (the owner); you stay on as an admin."""
    current = await crud.get_member(session, owner.id, owner.user_id)
    successor = await crud.get_member(session, owner.id, data.user_id)
    if current is None or successor is None or successor.user_id == owner.user_id:
        raise member_not_found()
    await crud.transfer(session, current, successor)
    audit.record(
        session,
        TRANSFERRED,
        request=request,
        actor_id=owner.user_id,
        target_user_id=data.user_id,
        org_id=str(owner.id),
    )
    await session.commit()
    return Message(detail="The ownership is transferred; you are an admin now.")


# --- invitations ---------------------------------------------------------------------------------
async def limit_invitations(request: Request, org_id: uuid.UUID, limiter: RateLimiter) -> None:
    """429 past the organisation's invitations for this hour (counted exactly, in the store the
    other limits use; fails open like them)."""
    hourly = RateLimiter(limiter.store, 3600, batches=False)
    limit = request.app.state.settings.rate_limit.invitations_per_org_per_hour
    hit = await hourly.take("org_invitations", str(org_id), limit)
    if hit.retry_after is not None:
        raise too_many_requests(hit.retry_after)


INVITED_ANSWER = "If {email} is not a member yet, an invitation is on its way."


@router.post(
    "/{org_id}/invitations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def invite(
    request: Request,
    data: InvitationCreate,
    admin: OrgAdmin,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
) -> Message:
    """Email `email` a link to join as `role`. The answer is the same whether the address has an
    account or not, and whether it is a member already (then nothing is sent)."""
    await limit_invitations(request, admin.id, rate_limiter)
    if not await crud.is_member_by_email(session, admin.id, data.email):
        await crud.check_new_member(session, admin.id)
        lifetime = timedelta(days=settings.invitation_days)
        invitation = await crud.invite(
            session, admin.id, data.email, data.role, admin.user_id, lifetime
        )
        audit.record(
            session,
            INVITED,
            request=request,
            actor_id=admin.user_id,
            org_id=str(admin.id),
            email=data.email,
            role=data.role,
        )
        inviter = user.full_name or user.email
        await enqueue(
            session, jobs.send_invitation, invitation_id=str(invitation.id), inviter=inviter
        )
        await session.commit()
    return Message(detail=INVITED_ANSWER.format(email=data.email))


@router.get(
    "/{org_id}/invitations", response_model=InvitationsPublic, responses={**NOT_FOUND, **FORBIDDEN}
)
async def list_invitations(admin: OrgAdmin, session: SessionDep) -> InvitationsPublic:
    """The invitations not yet accepted, revoked or expired, newest first."""
    rows = await crud.list_invitations(session, admin.id)
    data = [InvitationPublic.model_validate(row, from_attributes=True) for row in rows]
    return InvitationsPublic(data=data, count=len(data))


@router.delete(
    "/{org_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def revoke_invitation(
    request: Request, invitation_id: uuid.UUID, admin: OrgAdmin, session: SessionDep
) -> None:
    """The invitation's link stops working."""
    invitation = await crud.get_pending_invitation(session, admin.id, invitation_id)
    if invitation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such pending invitation.")
    await crud.revoke_invitation(session, invitation)
    audit.record(
        session,
        INVITATION_REVOKED,
        request=request,
        actor_id=admin.user_id,
        org_id=str(admin.id),
        email=invitation.email,
    )
    await session.commit()


@router.post(
    "/{org_id}/invitations/{invitation_id}/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    responses={**NOT_FOUND, **FORBIDDEN},
)
async def resend_invitation(
    request: Request,
    invitation_id: uuid.UUID,
    admin: OrgAdmin,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
) -> Message:
    """Email the invitation again, with a new link (the one sent before stops working) and a new
    expiry."""
    await limit_invitations(request, admin.id, rate_limiter)
    invitation = await crud.get_pending_invitation(session, admin.id, invitation_id)
    if invitation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such pending invitation.")
    await crud.invite(
        session,
        admin.id,
        invitation.email,
        invitation.role,
        admin.user_id,
        timedelta(days=settings.invitation_days),
    )
    inviter = user.full_name or user.email
    await enqueue(session, jobs.send_invitation, invitation_id=str(invitation.id), inviter=inviter)
    await session.commit()
    return Message(detail=INVITED_ANSWER.format(email=invitation.email))


@invitations_router.post(
    "/accept",
    response_model=OrgPublic,
    responses={
        **SIGNED_IN,
        **BAD_LINK,
        403: {"model": Message, "description": "Signed in as another address"},
    },
    dependencies=[ApiRateLimit],
)
async def accept_invitation(
    request: Request,
    body: InvitationAccept,
    user: CurrentUserDep,
    session: SessionDep,
    cache: CacheDep,
) -> OrgPublic:
    """Join the organisation of the invitation's link, as the role it offers: signed in as the
    invited address (403 as another). The address counts as verified: the link reached it."""
    digest = link_token_digest(body.token)
    invitation = await crud.find_invitation(session, digest)
    if invitation is None:
        raise bad_link()
    if invitation.email != user.email:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "This invitation is for another address: sign in with the address it was sent to.",
        )
    org = await joined(request, session, digest, user.id, user.email)
    record = await account_crud.get_user(session, user.id)
    if record is not None and not record.email_verified:
        record.email_verified = True
        session.add(record)
    await session.commit()
    await cache.invalidate(org.id)
    await cache.forget_owner_record(user.id)
    membership = await crud.get_member(session, org.id, user.id)
    return public(org, membership.role if membership else invitation.role)


async def joined(
    request: Request, session: SessionDep, digest: str, user_id: uuid.UUID, email: str
) -> Organisation:
    """Use the invitation and add its member (the caller commits); 400 when it is used up."""
    invitation = await crud.use_invitation(session, digest, email)
    org = await crud.get_org(session, invitation.org_id) if invitation else None
    if invitation is None or org is None:
        raise bad_link()
    await crud.check_new_member(session, org.id)
    await crud.join(session, org.id, user_id, invitation.role)
    audit.record(
        session,
        JOINED,
        request=request,
        actor_id=user_id,
        target_user_id=user_id,
        org_id=str(org.id),
        role=invitation.role,
    )
    return org


@invitations_router.post(
    "/sign-up",
    status_code=status.HTTP_201_CREATED,
    response_model=Token,
    responses={
        **BAD_LINK,
        409: {"model": Message, "description": "The address has an account: sign in"},
        429: {"model": Message, "description": "Too many attempts; see Retry-After"},
    },
)
async def sign_up_from_invitation(
    request: Request,
    body: InvitationSignUp,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
    cache: CacheDep,
) -> Token:
    """Make an account for the invited address from the link (verified: the link reached it),
    join the organisation and sign in. Only the link's holder learns that an address has an
    account (409): the invitation went to that address."""
    await limit_account_request(request, rate_limiter, settings)
    hashed = await hash_password(body.password)
    digest = link_token_digest(body.token)
    invitation = await crud.find_invitation(session, digest)
    if invitation is None:
        raise bad_link()
    if await account_crud.get_user_by_email(session, invitation.email) is not None:
        raise conflict("This address has an account: sign in, then open the link again.")
    user = User(
        email=invitation.email,
        full_name=body.full_name,
        hashed_password=hashed,
        email_verified=True,
    )
    session.add(user)
    await session.flush()
    await crud.add_personal_org(session, user.id)
    audit.record(
        session,
        audit.REGISTERED,
        actor_id=user.id,
        target_user_id=user.id,
        ip=client_address(request),
    )
    org = await joined(request, session, digest, user.id, invitation.email)
    try:
        await session.flush()
    except IntegrityError:  # the address got an account a moment ago
        raise conflict("This address has an account: sign in, then open the link again.") from None
    tokens = await issue_tokens(session, settings, user)  # commits with the token
    await cache.invalidate(org.id)
    return tokens
