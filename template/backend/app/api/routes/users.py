"""The signed-in user."""

from fastapi import APIRouter, Response

from app.api.deps import CurrentUserDep
from app.models import UserPublic

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUserDep, response: Response) -> UserPublic:
    response.headers["X-Cache"] = user.cache_status
    return user
