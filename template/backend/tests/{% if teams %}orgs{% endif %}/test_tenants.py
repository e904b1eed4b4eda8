"""Every route with an `{org_id}` in its path, read from the app's own routes (so a new route is
covered the day it is added): a member of another organisation gets 404 and nothing of this one's
data; a `member` gets 403 from the routes only an admin or the owner may call."""

import uuid

import pytest
from fastapi.routing import APIRoute
from httpx import AsyncClient

from app.api.deps import API_V1
from tests.admin.test_permissions import api_routes
from tests.orgs.helpers import add_member, app_of, new_org, user_id
from tests.utils import API, signup, solved

pytestmark = pytest.mark.anyio

# One body for every write: each route reads the fields it knows (a refusal comes before).
BODY = {
    "name": "Renamed",
    "confirm_name": "Renamed",
    "title": "Changed",
    "role": "admin",
    "email": "someone@example.com",
    "user_id": str(uuid.uuid4()),
}


def org_routes(client: AsyncClient) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) of every route the app serves with `{org_id}` in its path (its route
    table, checked against its OpenAPI schema by `api_routes`)."""
    routes = [
        (method, API_V1 + route.path, route)
        for route in api_routes(app_of(client))
        if "{org_id}" in route.path
        for method in sorted(route.methods)
    ]
    paths = {path for _, path, _ in routes}
    # Known ones, so this test cannot pass on an app that serves none of them.
    assert {f"{API_V1}/orgs/{{org_id}}/items", f"{API_V1}/orgs/{{org_id}}/members"} <= paths
    return routes


def admin_only(route: APIRoute) -> bool:
    """Whether the route needs the role of an admin or the owner (`org_role(...)`)."""
    roles = {getattr(call, "org_role", None) for call in solved(route.dependant)}
    return bool(roles & {"admin", "owner"})


async def test_other_tenants_get_404_and_nothing_of_the_organisation(client: AsyncClient) -> None:
    owner, outsider = await signup(client), await signup(client)
    name = f"Secret {uuid.uuid4().hex[:8]}"
    org_id = await new_org(client, owner, name)
    await new_org(client, outsider)  # a member of another organisation
    item = await client.post(
        f"{API}/orgs/{org_id}/items", json={"title": f"Plan {name}"}, headers=owner.headers
    )
    member = await add_member(client, org_id)
    invited = await client.post(
        f"{API}/orgs/{org_id}/invitations",
        json={"email": "invited@example.com", "role": "member"},
        headers=owner.headers,
    )
    assert invited.status_code == 202, invited.text
    invitations = await client.get(f"{API}/orgs/{org_id}/invitations", headers=owner.headers)
    values = {
        "org_id": org_id,
        "item_id": item.json()["id"],
        "user_id": await user_id(client, member),
        "invitation_id": invitations.json()["data"][0]["id"],
    }
    # What a body must never hold: the organisation's name, ids and addresses, its item's title.
    theirs = [name, *values.values(), owner.email, member.email, "invited@example.com"]

    walked = []
    for method, path, route in org_routes(client):
        url = path.format_map({**{p: uuid.uuid4() for p in route.param_convertors}, **values})
        response = await client.request(method, url, json=BODY, headers=outsider.headers)
        walked.append(f"{method} {path}")
        assert response.status_code == 404, (method, path, response.text)
        leaked = [value for value in theirs if value in response.text]
        assert leaked == [], (method, path, leaked)
    assert len(walked) >= 10, walked

    # Nothing was changed: the organisation, its item and its member are as they were.
    read = await client.get(f"{API}/orgs/{org_id}/items/{values['item_id']}", headers=owner.headers)
    assert read.json()["title"] == f"Plan {name}"
    assert (await client.get(f"{API}/orgs/{org_id}", headers=owner.headers)).json()["name"] == name
    members = await client.get(f"{API}/orgs/{org_id}/members", headers=owner.headers)
    assert members.json()["count"] == 2


async def test_a_member_is_refused_every_route_for_admins(client: AsyncClient) -> None:
    owner = await signup(client)
    org_id = await new_org(client, owner)
    member = await add_member(client, org_id, "member")
    other = await add_member(client, org_id, "member")
    values = {"org_id": org_id, "user_id": await user_id(client, other)}
    guarded = [(m, path, route) for m, path, route in org_routes(client) if admin_only(route)]
    guarded_paths = {f"{method} {path}" for method, path, _ in guarded}
    assert f"DELETE {API_V1}/orgs/{{org_id}}" in guarded_paths, guarded_paths
    assert f"POST {API_V1}/orgs/{{org_id}}/invitations" in guarded_paths, guarded_paths
    for method, path, route in guarded:
        url = path.format_map({**{p: uuid.uuid4() for p in route.param_convertors}, **values})
        response = await client.request(method, url, json=BODY, headers=member.headers)
        assert response.status_code == 403, (method, path, response.text)
    # ...while the routes for every member answer them.
    for path in (f"orgs/{org_id}", f"orgs/{org_id}/members", f"orgs/{org_id}/items"):
        assert (await client.get(f"{API}/{path}", headers=member.headers)).status_code == 200
