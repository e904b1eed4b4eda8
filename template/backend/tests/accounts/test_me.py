import pytest
from httpx import AsyncClient

from tests.utils import API, signup

pytestmark = pytest.mark.anyio


async def test_me_is_the_signed_in_user(client: AsyncClient) -> None:
    account = await signup(client)
    response = await client.get(f"{API}/users/me", headers=account.headers)
    assert response.status_code == 200
    assert response.json()["email"] == account.email
    assert set(response.json()) == {
        "id",
        "email",
        "full_name",
        "is_active",
        "role",
        "email_verified",
        "created_at",
    }
