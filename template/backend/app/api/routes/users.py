"""The signed-in user."""

from fastapi import APIRouter, Response

from app.api.deps import SIGNED_IN, CurrentUserDep
from app.models import UserPublic

router = APIRouter(prefix="/users", tags=["users"], responses=SIGNED_IN)


@router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUserDep, response: Response) -> UserPublic:
    response.headers["X-Cache"] = user.cache_status
    return user
