"""Organisations and their roles: what a member, an admin and the owner may do; the owner who
cannot leave; transfer and delete; the personal organisation behind /items; reads cached for the
whole organisation; the audit trail and the admin area."""

import uuid

import pytest
from httpx import AsyncClient

from tests.admin.test_admin import admin_app
from tests.orgs.helpers import add_member, new_org, user_id
from tests.utils import API, PASSWORD, signup

__all__ = ["admin_app"]  # the first admin's fixture, from the admin area's tests

pytestmark = pytest.mark.anyio


async def test_roles_decide_who_renames_changes_roles_and_removes(client: AsyncClient) -> None:
    owner = await signup(client)
    org_id = await new_org(client, owner)
    admin = await add_member(client, org_id, "admin")
    member = await add_member(client, org_id, "member")
    org = f"{API}/orgs/{org_id}"

    assert (await client.patch(org, json={"name": "X"}, headers=member.headers)).status_code == 403
    renamed = await client.patch(org, json={"name": "Acme"}, headers=admin.headers)
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Acme")
    assert (await client.patch(org, json={"name": " "}, headers=admin.headers)).status_code == 422

    member_url = f"{org}/members/{await user_id(client, member)}"
    owner_url = f"{org}/members/{await user_id(client, owner)}"
    promote = {"role": "admin"}
    assert (await client.patch(member_url, json=promote, headers=member.headers)).status_code == 403
    # Ownership moves only by a transfer.
    to_owner = await client.patch(member_url, json={"role": "owner"}, headers=admin.headers)
    assert to_owner.status_code == 422
    demote = await client.patch(owner_url, json={"role": "member"}, headers=admin.headers)
    assert demote.status_code == 409
    assert (await client.patch(member_url, json=promote, headers=admin.headers)).status_code == 200
    members = (await client.get(f"{org}/members", headers=owner.headers)).json()["data"]
    assert [m["role"] for m in members] == ["owner", "admin", "admin"]

    # A member removes no one, but may leave; an admin removes; the owner stays.
    plain = await add_member(client, org_id, "member")
    plain_url = f"{org}/members/{await user_id(client, plain)}"
    admin_url = f"{org}/members/{await user_id(client, admin)}"
    assert (await client.delete(admin_url, headers=plain.headers)).status_code == 403
    assert (await client.delete(plain_url, headers=plain.headers)).status_code == 204
    assert (await client.get(org, headers=plain.headers)).status_code == 404
    assert (await client.delete(member_url, headers=admin.headers)).status_code == 204
    assert (await client.delete(owner_url, headers=admin.headers)).status_code == 409
    assert (await client.delete(owner_url, headers=owner.headers)).status_code == 409


async def test_ownership_is_transferred_then_the_organisation_deleted(client: AsyncClient) -> None:
    owner = await signup(client)
    org_id = await new_org(client, owner, "Acme")
    successor = await add_member(client, org_id, "member")
    org = f"{API}/orgs/{org_id}"
    item = await client.post(f"{org}/items", json={"title": "Plan"}, headers=owner.headers)

    stranger = {"user_id": str(uuid.uuid4())}
    assert (
        await client.post(f"{org}/transfer", json=stranger, headers=owner.headers)
    ).status_code == 404
    to = {"user_id": await user_id(client, successor)}
    assert (
        await client.post(f"{org}/transfer", json=to, headers=successor.headers)
    ).status_code == 403
    assert (await client.post(f"{org}/transfer", json=to, headers=owner.headers)).status_code == 200
    assert (await client.get(org, headers=successor.headers)).json()["role"] == "owner"
    assert (await client.get(org, headers=owner.headers)).json()["role"] == "admin"
    # The former owner, now an admin, may leave.
    confirm = {"confirm_name": "Acme"}
    assert (
        await client.request("DELETE", org, json=confirm, headers=owner.headers)
    ).status_code == 403
    wrong = await client.request(
        "DELETE", org, json={"confirm_name": "acme"}, headers=successor.headers
    )
    assert wrong.status_code == 400
    deleted = await client.request("DELETE", org, json=confirm, headers=successor.headers)
    assert deleted.status_code == 204
    for account in (owner, successor):
        assert (await client.get(org, headers=account.headers)).status_code == 404
        url = f"{org}/items/{item.json()['id']}"
        assert (await client.get(url, headers=account.headers)).status_code == 404


async def test_an_account_that_owns_a_shared_organisation_stays_until_it_is_handed_on(
    client: AsyncClient,
) -> None:
    owner = await signup(client)
    org_id = await new_org(client, owner, "Acme")
    member = await add_member(client, org_id, "member")
    org = f"{API}/orgs/{org_id}"
    made = await client.post(f"{org}/items", json={"title": "Stays"}, headers=member.headers)
    assert made.status_code == 201, made.text
    delete = {"password": PASSWORD}
    refused = await client.post(f"{API}/users/me/delete", json=delete, headers=owner.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "deletion_blocked"
    assert "Acme" in refused.json()["detail"]
    assert (await client.get(org, headers=owner.headers)).json()["role"] == "owner"

    # The member's account goes; the item they made stays the organisation's, now its owner's.
    gone = await client.post(f"{API}/users/me/delete", json=delete, headers=member.headers)
    assert gone.status_code == 204, gone.text
    items = (await client.get(f"{org}/items", headers=owner.headers)).json()["data"]
    owner_id = await user_id(client, owner)
    assert [(item["title"], item["owner_id"]) for item in items] == [("Stays", owner_id)]

    # With the organisation deleted, nothing holds the account.
    confirm = {"confirm_name": "Acme"}
    deleted = await client.request("DELETE", org, json=confirm, headers=owner.headers)
    assert deleted.status_code == 204
    gone = await client.post(f"{API}/users/me/delete", json=delete, headers=owner.headers)
    assert gone.status_code == 204, gone.text


async def test_items_are_the_personal_organisations_and_cached_for_all_members(
    client: AsyncClient,
) -> None:
    owner = await signup(client)
    mine = await client.post(f"{API}/items", json={"title": "Mine"}, headers=owner.headers)
    assert mine.status_code == 201, mine.text
    orgs = (await client.get(f"{API}/orgs", headers=owner.headers)).json()["data"]
    (personal,) = [org for org in orgs if org["personal"]]
    assert mine.json()["org_id"] == personal["id"]
    same = await client.get(f"{API}/orgs/{personal['id']}/items", headers=owner.headers)
    assert [item["title"] for item in same.json()["data"]] == ["Mine"]
    gone = await client.request(
        "DELETE",
        f"{API}/orgs/{personal['id']}",
        json={"confirm_name": "Personal"},
        headers=owner.headers,
    )
    assert gone.status_code == 409

    org_id = await new_org(client, owner)
    member = await add_member(client, org_id)
    items = f"{API}/orgs/{org_id}/items"
    first, second = [await client.get(items, headers=owner.headers) for _ in range(2)]
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    await client.post(items, json={"title": "Shared"}, headers=member.headers)
    after = await client.get(items, headers=owner.headers)
    assert after.headers["X-Cache"] == "MISS"
    assert [item["title"] for item in after.json()["data"]] == ["Shared"]
    # Not in the owner's personal organisation.
    personal_items = await client.get(f"{API}/items", headers=owner.headers)
    assert [item["title"] for item in personal_items.json()["data"]] == ["Mine"]


async def test_changes_are_audited_and_the_admin_area_lists_organisations(
    admin_app: tuple[AsyncClient, object],
) -> None:
    client, admin = admin_app
    owner = await signup(client)
    name = f"Audited {uuid.uuid4().hex[:8]}"
    org_id = await new_org(client, owner, name)
    await add_member(client, org_id)
    headers = admin.headers  # type: ignore[attr-defined]
    events = await client.get(
        f"{API}/admin/audit-events", params={"kind": "org.created"}, headers=headers
    )
    assert org_id in [event["detail"].get("org_id") for event in events.json()["data"]]
    listed = await client.get(f"{API}/admin/orgs", params={"limit": 100}, headers=headers)
    assert listed.status_code == 200, listed.text
    (row,) = [org for org in listed.json()["data"] if org["id"] == org_id]
    assert (row["name"], row["members"]) == (name, 2)
    assert (await client.get(f"{API}/admin/orgs", headers=owner.headers)).status_code == 403
