"""The admin side of two-step sign-in: turn off a user's second factors when they lost them
(audited, and the user is emailed)."""

import uuid

from fastapi import APIRouter, Request

from app import audit
from app.accounts import jobs as account_jobs
from app.accounts import mfa, passkeys
from app.accounts.deps import ApiRateLimit
from app.admin.routes import FORBIDDEN, NOT_FOUND, Manager, target
from app.api.deps import MALFORMED_BODY, SIGNED_IN, SessionDep
from app.api.schemas import Message
from app.jobs.queue import enqueue

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={**SIGNED_IN, **MALFORMED_BODY},
    dependencies=[ApiRateLimit],
)


@router.post(
    "/users/{user_id}/mfa-reset", response_model=Message, responses={**FORBIDDEN, **NOT_FOUND}
)
async def reset_mfa(
    admin: Manager, request: Request, session: SessionDep, user_id: uuid.UUID
) -> Message:
    """Turn off the user's authenticator app and recovery codes and remove their passkeys, for
    someone who lost them: they sign in with their password alone until they set them up again.
    They are emailed."""
    user = await target(session, user_id)
    await mfa.remove_factors(session, user.id)
    await passkeys.remove_passkeys(session, user.id)
    audit.record(
        session, audit.MFA_RESET, request=request, actor_id=admin.id, target_user_id=user.id
    )
    await enqueue(session, account_jobs.mfa_changed, user_id=str(user.id), change="reset_by_admin")
    await session.commit()
    return Message(
        detail="Two-step sign-in is off and passkeys are gone for this user; they are emailed."
    )
