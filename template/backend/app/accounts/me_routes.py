"""The signed-in user: their record, password, email, sessions, data export and deletion."""

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse

from app import audit
from app.accounts import crud, jobs
from app.accounts.auth_routes import issue_tokens
from app.accounts.deps import ApiRateLimit, CurrentUserDep, LagTolerantSessionsDep, last_admin
from app.accounts.models import (
    EmailChange,
    PasswordChange,
    PasswordConfirm,
    Token,
    User,
    UserPublic,
)
from app.api.deps import MALFORMED_BODY, SIGNED_IN, CacheDep, SessionDep, SettingsDep
from app.api.schemas import CodedMessage, Message
from app.core.security import hash_password, verify_password
from app.jobs.queue import enqueue

router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses={**SIGNED_IN, **MALFORMED_BODY},
    dependencies=[ApiRateLimit],
)
WRONG_PASSWORD = {"model": Message, "description": "The password given is not the user's"}


async def confirmed(session: SessionDep, user: CurrentUserDep, password: str) -> User:
    """The user's record, once `password` is theirs (a stolen access token alone is not enough to
    change the password or the email, or to delete the account); 400 otherwise."""
    record = await crud.get_user(session, user.id)
    valid, _ = await verify_password(password, record.hashed_password if record else None)
    if record is None or not valid:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Your current password is not correct.")
    return record


@router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUserDep, response: Response) -> UserPublic:
    response.headers["X-Cache"] = user.cache_status
    return user


@router.post("/me/password", response_model=Token, responses={400: WRONG_PASSWORD})
async def change_password(
    request: Request,
    body: PasswordChange,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
) -> Token:
    """Every other session is signed out; this one gets a new token pair to go on with."""
    record = await confirmed(session, user, body.current_password)
    audit.record(
        session, audit.PASSWORD_CHANGED, request=request, actor_id=user.id, target_user_id=user.id
    )
    await crud.set_password(session, record, await hash_password(body.new_password))
    await cache.forget_owner_record(user.id)
    return await issue_tokens(session, settings, record)


@router.post(
    "/me/email",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    responses={400: WRONG_PASSWORD},
)
async def change_email(body: EmailChange, user: CurrentUserDep, session: SessionDep) -> Message:
    """Email a confirmation link to the new address (the change happens when it is opened) and a
    notice to the current one."""
    record = await confirmed(session, user, body.password)
    if body.new_email == record.email:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "That is already your email address.")
    await enqueue(
        session,
        jobs.email_change_requested,
        user_id=str(record.id),
        new_email=body.new_email,
        # The link binds to the account as the password that asked knew it.
        email=record.email,
        session_version=record.session_version,
    )
    await enqueue(session, jobs.email_change_notice, email=record.email, new_email=body.new_email)
    await session.commit()
    return Message(detail=f"Check {body.new_email}: the change happens once you open our link.")


@router.get("/me/export", response_class=JSONResponse)
async def export_my_data(
    user: CurrentUserDep, session: SessionDep, sessions: LagTolerantSessionsDep
) -> JSONResponse:
    """Everything stored about you, as a JSON download."""
    # The account from the primary: a new one may not be on the read replica yet.
    record = await crud.get_user(session, user.id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such user.")
    async with sessions() as rows:
        export = await crud.export_user(rows, record)
    return JSONResponse(
        export, headers={"Content-Disposition": 'attachment; filename="my-data.json"'}
    )


@router.post(
    "/me/delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        400: WRONG_PASSWORD,
        409: {"model": CodedMessage, "description": "The last active admin, or needed elsewhere"},
    },
)
async def delete_me(
    request: Request,
    body: PasswordConfirm,
    user: CurrentUserDep,
    session: SessionDep,
    cache: CacheDep,
) -> None:
    """The account and everything in it are deleted; its tokens stop working at once. The audit
    trail keeps that it happened, under the account's id only."""
    record = await confirmed(session, user, body.password)
    audit.record(session, audit.DELETED, request=request, actor_id=user.id, target_user_id=user.id)
    if not await crud.delete_user(session, record):
        raise last_admin()
    await cache.forget_owner_record(user.id)
