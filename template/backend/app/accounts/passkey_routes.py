"""Passkeys: the signed-in user registers, lists, renames and deletes theirs
(/users/me/passkeys...), and anyone signs in with one alone (/auth/passkey...), which counts as
both steps of a two-step sign-in. Adding or removing one is an audit event and an email."""

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import audit
from app.accounts import crud, jobs, passkeys
from app.accounts.auth_routes import RATE_LIMITED, client_address, issue_tokens, refuse_sign_in
from app.accounts.deps import ApiRateLimit, CurrentUserDep
from app.accounts.mfa_models import (
    Passkey,
    PasskeyPublic,
    PasskeyRegister,
    PasskeyRename,
    PasskeySignIn,
)
from app.accounts.models import Token
from app.api.deps import (
    MALFORMED_BODY,
    SIGNED_IN,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
    too_many_requests,
    unauthorized,
)
from app.api.schemas import CodedMessage, Message
from app.jobs.queue import enqueue
from app.rate_limit import RateLimiter

router = APIRouter(
    prefix="/users/me/passkeys",
    tags=["passkeys"],
    responses={**SIGNED_IN, **MALFORMED_BODY},
    dependencies=[ApiRateLimit],
)
auth_router = APIRouter(prefix="/auth/passkey", tags=["auth"], responses=MALFORMED_BODY)

NOT_FOUND = {404: {"model": Message, "description": "No such passkey of yours"}}
REFUSED = {"model": Message, "description": "The passkey's answer did not verify"}


async def own_passkey(
    session: AsyncSession, user: CurrentUserDep, passkey_id: uuid.UUID
) -> Passkey:
    passkey = await session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such passkey.")
    return passkey


def public(passkey: Passkey) -> PasskeyPublic:
    return PasskeyPublic.model_validate(passkey, from_attributes=True)


@router.post("/options", response_model=dict[str, Any])
async def registration_options(
    user: CurrentUserDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """The options for navigator.credentials.create (WebAuthn's JSON form): a discoverable
    credential that verifies its user."""
    record = await crud.get_user(session, user.id)
    if record is None:
        raise unauthorized()
    options = await passkeys.registration_options(session, settings, record)
    await session.commit()
    return options


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PasskeyPublic,
    responses={400: REFUSED, 409: {"model": Message, "description": "Registered already"}},
)
async def register_passkey(
    request: Request,
    body: PasskeyRegister,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> PasskeyPublic:
    """Keep the passkey the browser made from the registration options, under `name`."""
    record = await crud.get_user(session, user.id)
    if record is None:
        raise unauthorized()
    try:
        passkey = await passkeys.register(session, settings, record, body.credential, body.name)
    except passkeys.PasskeyRefused:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "This passkey could not be checked: try again."
        ) from None
    audit.record(
        session,
        audit.PASSKEY_ADDED,
        request=request,
        actor_id=user.id,
        target_user_id=user.id,
        name=body.name,
    )
    await enqueue(session, jobs.mfa_changed, user_id=str(user.id), change="passkey_added")
    try:
        await session.commit()
    except IntegrityError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "This passkey is registered already."
        ) from None
    return public(passkey)


@router.get("", response_model=list[PasskeyPublic])
async def list_passkeys(user: CurrentUserDep, session: SessionDep) -> list[PasskeyPublic]:
    return [public(passkey) for passkey in await passkeys.passkeys_of(session, user.id)]


# `:uuid`: only an id matches, so another method on /options is a 405, not a 422 for a bad id.
@router.patch("/{passkey_id:uuid}", response_model=PasskeyPublic, responses=NOT_FOUND)
async def rename_passkey(
    request: Request,
    passkey_id: uuid.UUID,
    body: PasskeyRename,
    user: CurrentUserDep,
    session: SessionDep,
) -> PasskeyPublic:
    passkey = await own_passkey(session, user, passkey_id)
    event = {"request": request, "actor_id": user.id, "target_user_id": user.id}
    audit.record(session, audit.PASSKEY_RENAMED, **event, old=passkey.name, new=body.name)
    passkey.name = body.name
    session.add(passkey)
    await session.commit()
    return public(passkey)


@router.delete("/{passkey_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_passkey(
    request: Request, passkey_id: uuid.UUID, user: CurrentUserDep, session: SessionDep
) -> None:
    """The passkey no longer signs in (its device may keep it; it opens nothing here)."""
    passkey = await own_passkey(session, user, passkey_id)
    event = {"request": request, "actor_id": user.id, "target_user_id": user.id}
    audit.record(session, audit.PASSKEY_REMOVED, **event, name=passkey.name)
    await session.delete(passkey)
    await enqueue(session, jobs.mfa_changed, user_id=str(user.id), change="passkey_removed")
    await session.commit()


@auth_router.post("/options", response_model=dict[str, Any], responses={429: RATE_LIMITED})
async def authentication_options(
    request: Request, session: SessionDep, settings: SettingsDep, rate_limiter: RateLimiterDep
) -> dict[str, Any]:
    """The options for navigator.credentials.get (WebAuthn's JSON form): the device offers the
    passkeys it holds for this site."""
    await limit_passkey_sign_in(request, rate_limiter, settings.rate_limit.login_per_minute)
    options = await passkeys.authentication_options(session, settings)
    await session.commit()
    return options


@auth_router.post(
    "",
    response_model=Token,
    responses={
        401: REFUSED,
        403: {"model": CodedMessage, "description": "Inactive, or the email is not verified yet"},
        429: RATE_LIMITED,
    },
)
async def passkey_sign_in(
    request: Request,
    body: PasskeySignIn,
    session: SessionDep,
    settings: SettingsDep,
    rate_limiter: RateLimiterDep,
) -> Token:
    """Sign in with a passkey alone: the device verified its user, so no second step is owed."""
    await limit_passkey_sign_in(request, rate_limiter, settings.rate_limit.login_per_minute)
    try:
        passkey = await passkeys.authenticate(session, settings, body.credential)
    except passkeys.PasskeyRefused:
        raise unauthorized("This passkey could not be checked, or is not known here.") from None
    user = await crud.get_user(session, passkey.user_id)
    if user is None:
        raise unauthorized()
    refuse_sign_in(settings, user)
    audit.record(
        session,
        audit.SIGN_IN,
        request=request,
        actor_id=user.id,
        target_user_id=user.id,
        method="passkey",
        passkey=passkey.name,
    )
    return await issue_tokens(session, settings, user)  # commits the sign count with the token


async def limit_passkey_sign_in(request: Request, rate_limiter: RateLimiter, limit: int) -> None:
    """Passkey ceremonies per client address, as password sign-ins are limited."""
    hit = await rate_limiter.hit("passkey", client_address(request), limit)
    if hit.retry_after is not None:
        raise too_many_requests(hit.retry_after)
