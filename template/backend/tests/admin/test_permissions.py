"""Every route decides who may call it (app/admin/permissions.py), and a member is refused every
route that needs a permission: both read from the app's own route table, so a new route is
covered the day it is added."""

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from httpx import AsyncClient

from app.admin.permissions import OPEN, OWN_DATA, PERMISSIONS
from app.api.deps import API_V1
from app.main import create_app
from app.routes import ROUTERS
from tests.conftest import make_settings
from tests.utils import signup, solved

pytestmark = pytest.mark.anyio


def permissions_of(dependant: Dependant) -> set[str]:
    """The permissions `require(...)` asks for anywhere in a route's dependencies."""
    permissions = (getattr(call, "permission", None) for call in solved(dependant))
    return {permission for permission in permissions if permission}


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every /api/v1 route, from the app's own route table (app/routes.py: each route's path has its
    router's prefix; the app adds API_V1). Checked against the app's OpenAPI schema, so a router
    included anywhere else cannot slip past."""
    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(API_V1)
        for method in operations
    }
    # path_format: the path as the schema writes it (a `{passkey_id:uuid}` convertor left out).
    found = {(method, API_V1 + route.path_format) for route in routes for method in route.methods}
    assert served <= found, f"routes these tests cannot see: {sorted(served - found)}"
    yield from routes


def test_every_api_route_needs_a_permission_or_says_why_not() -> None:
    undecided = [
        f"{sorted(route.methods)} {API_V1 + route.path_format}"
        for route in api_routes(create_app(make_settings()))
        if not permissions_of(route.dependant)
        and not (API_V1 + route.path_format).startswith(OPEN + OWN_DATA)
    ]
    assert undecided == [], "add require(...) to these routes, or list them in permissions.py"


def test_every_permission_a_route_asks_for_exists() -> None:
    known = set().union(*PERMISSIONS.values())
    for route in api_routes(create_app(make_settings())):
        assert permissions_of(route.dependant) <= known, route.path


def guarded_routes() -> list[tuple[str, str]]:
    routes = [
        (method, API_V1 + route.path_format)
        for route in api_routes(create_app(make_settings()))
        if permissions_of(route.dependant) - PERMISSIONS["member"]
        for method in sorted(route.methods)
    ]
    assert routes, "no route needs a permission: the admin routes are missing"
    return routes


@pytest.mark.parametrize(("method", "path"), guarded_routes())
async def test_a_member_is_refused_every_admin_route(
    client: AsyncClient, method: str, path: str
) -> None:
    member = await signup(client)
    url = path.replace("{user_id}", str(uuid.uuid4()))
    body = {"role": "admin"} if method == "PATCH" else None
    response = await client.request(method, url, headers=member.headers, json=body)
    assert response.status_code == 403, response.text
