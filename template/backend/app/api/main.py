"""The versioned API: one router per resource."""

from fastapi import APIRouter
from fastapi.routing import APIRoute

from app.api.routes import admin, auth, items, users

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(items.router)
api_router.include_router(admin.router)


def operation_id(route: APIRoute) -> str:
    """`<tag>-<action>` (`auth-login`, `items-list`), so generated clients read well: the route
    function's name without the words that repeat its tag (`list_items` under `items`)."""
    tag = str(route.tags[0]) if route.tags else ""
    action = [word for word in route.name.split("_") if word not in {tag, tag.removesuffix("s")}]
    return "-".join(filter(None, [tag, *action]))
