"""The admin area: look users up, change their role, deactivate or reactivate them, resend their
verification link or force a password reset, and read the audit trail. Admins only (403 for
members); every change is an audit event."""

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from app import audit
from app.accounts import crud as account_crud
from app.accounts import jobs as account_jobs
from app.accounts.deps import ApiRateLimit, CurrentUser, last_admin
from app.accounts.models import User, UserAdminUpdate, UserPublic, UsersPublic
from app.admin import crud
from app.admin.permissions import require
from app.api.deps import MALFORMED_BODY, SIGNED_IN, CacheDep, SessionDep
from app.api.schemas import MAX_OFFSET, MAX_PAGE_SIZE, STORABLE_TEXT, CodedMessage, Message
from app.audit.models import AuditEventsPublic
from app.jobs.queue import enqueue

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={**SIGNED_IN, **MALFORMED_BODY},
    dependencies=[ApiRateLimit],
)
FORBIDDEN = {403: {"model": Message, "description": "Not an admin"}}
NOT_FOUND = {404: {"model": Message, "description": "No such user"}}
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
# Text PostgreSQL can compare with: no NUL character.
Searched = Annotated[str | None, Query(max_length=254, pattern=STORABLE_TEXT["pattern"])]
Reader = Annotated[CurrentUser, require("users:read")]
Manager = Annotated[CurrentUser, require("users:manage")]
Auditor = Annotated[CurrentUser, require("audit:read")]


async def target(session: SessionDep, user_id: uuid.UUID) -> User:
    user = await account_crud.get_user(session, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such user.")
    return user


@router.get("/users", response_model=UsersPublic, responses=FORBIDDEN)
async def list_users(
    _: Reader,
    session: SessionDep,
    q: Searched = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> UsersPublic:
    """Users whose email or name contains `q`, newest first."""
    users, count = await crud.list_users(session, q, offset, limit)
    data = [UserPublic.model_validate(user, from_attributes=True) for user in users]
    return UsersPublic(data=data, count=count)


@router.get("/users/{user_id}", response_model=UserPublic, responses={**FORBIDDEN, **NOT_FOUND})
async def read_user(_: Reader, session: SessionDep, user_id: uuid.UUID) -> UserPublic:
    return UserPublic.model_validate(await target(session, user_id), from_attributes=True)


@router.patch(
    "/users/{user_id}",
    response_model=UserPublic,
    responses={
        **FORBIDDEN,
        **NOT_FOUND,
        409: {"model": CodedMessage, "description": "It would leave no active admin"},
    },
)
async def update_user(
    admin: Manager,
    request: Request,
    session: SessionDep,
    cache: CacheDep,
    user_id: uuid.UUID,
    body: UserAdminUpdate,
) -> UserPublic:
    """Change a user's role, or deactivate (signed out at once, on their very next request) or
    reactivate them."""
    # Check and write in one step: the active admins' rows stay locked until this commits, so two
    # admins stepping each other down at the same moment cannot both count two and leave none.
    admins = await account_crud.lock_active_admins(session)
    if admin.id not in admins:  # stepped down (or deactivated) by another admin a moment ago
        raise HTTPException(status.HTTP_403_FORBIDDEN, "You are no longer an active admin.")
    user = await target(session, user_id)  # read after the lock: what the other change left
    demoted = body.role is not None and body.role != "admin" and user.role == "admin"
    deactivated = body.is_active is False and user.is_active
    steps_down = (demoted or deactivated) and user.role == "admin" and user.is_active
    if steps_down and len(admins) <= 1:
        raise last_admin()
    changes = {"request": request, "actor_id": admin.id, "target_user_id": user.id}
    if body.role is not None and body.role != user.role:
        audit.record(session, audit.ROLE_CHANGED, **changes, old=user.role, new=body.role)
        user.role = body.role
    if body.is_active is not None and body.is_active != user.is_active:
        kind = audit.REACTIVATED if body.is_active else audit.DEACTIVATED
        audit.record(session, kind, **changes)
        user.is_active = body.is_active
    session.add(user)
    if steps_down:
        # SQLite has no row locks: its writers take turns, so counting again after this write
        # sees any other admin change that committed first.
        await session.flush()
        if await account_crud.count_active_admins(session) < 1:
            await session.rollback()
            raise last_admin()
    if deactivated:
        await account_crud.sign_out_everywhere(session, user)  # commits, the events with it
    else:
        await session.commit()
    await cache.forget_owner_record(user.id)
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/users/{user_id}/verification",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    responses={**FORBIDDEN, **NOT_FOUND},
)
async def resend_verification(
    admin: Manager, request: Request, session: SessionDep, user_id: uuid.UUID
) -> Message:
    """Email the user a new verification link (nothing, if their address is verified)."""
    user = await target(session, user_id)
    await enqueue(session, account_jobs.send_verification, user_id=str(user.id))
    audit.record(
        session,
        audit.VERIFICATION_RESENT,
        request=request,
        actor_id=admin.id,
        target_user_id=user.id,
    )
    await session.commit()
    return Message(detail="A new verification link is on its way.")


@router.post(
    "/users/{user_id}/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    responses={**FORBIDDEN, **NOT_FOUND},
)
async def force_password_reset(
    admin: Manager, request: Request, session: SessionDep, cache: CacheDep, user_id: uuid.UUID
) -> Message:
    """Sign the user out everywhere and email them a reset link: they must choose a new password."""
    user = await target(session, user_id)
    await enqueue(session, account_jobs.password_reset_requested, email=user.email)
    audit.record(
        session,
        audit.PASSWORD_RESET_FORCED,
        request=request,
        actor_id=admin.id,
        target_user_id=user.id,
    )
    await account_crud.sign_out_everywhere(session, user)  # commits
    await cache.forget_owner_record(user.id)
    return Message(detail="The user is signed out and has a reset link on its way.")


@router.get("/audit-events", response_model=AuditEventsPublic, responses=FORBIDDEN)
async def list_audit_events(
    _: Auditor,
    session: SessionDep,
    user_id: uuid.UUID | None = None,
    kind: Annotated[str | None, Query(max_length=64, pattern=STORABLE_TEXT["pattern"])] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AuditEventsPublic:
    """Events by or about `user_id`, of `kind`, newest first."""
    events, count = await crud.list_audit_events(session, user_id, kind, offset, limit)
    return AuditEventsPublic.model_validate({"data": events, "count": count}, from_attributes=True)
