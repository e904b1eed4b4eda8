"""The OpenAPI schema as client generators (openapi-typescript, openapi-python-client) read it."""

import re

import pytest
from httpx import AsyncClient

pytestmark = pytest.mark.anyio

# `<tag>-<action>`: generated clients name their methods after these (authLogin, items_list).
READABLE = re.compile(r"^[a-z]+(-[a-z]+)+$")


async def test_operation_ids_are_unique_and_readable(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    ids = [operation["operationId"] for path in paths.values() for operation in path.values()]
    assert len(ids) == len(set(ids)), f"repeated operation ids: {sorted(ids)}"
    assert [i for i in ids if not READABLE.match(i)] == []
    assert {"auth-login", "auth-register", "items-list", "items-read", "users-read-me"} <= set(ids)
