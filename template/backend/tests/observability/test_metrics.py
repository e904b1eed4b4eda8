import pytest
from httpx import AsyncClient

from app.core.config import RateLimit
from tests.conftest import MakeClient
from tests.utils import API, metric, signup

pytestmark = pytest.mark.anyio


async def test_exposition_counts_requests_by_route_template(client: AsyncClient) -> None:
    account = await signup(client)
    created = await client.post(f"{API}/items", json={"title": "x"}, headers=account.headers)
    url = f"{API}/items/{created.json()['id']}"
    before = metric(await client.get("/metrics"), "http_requests_total")
    await client.get(url, headers=account.headers)  # MISS
    await client.get(url, headers=account.headers)  # HIT

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    route = {"method": "GET", "route": "/api/v1/items/{item_id}", "status": "200"}
    assert metric(response, "http_requests_total", **route) >= 2
    assert metric(response, "http_requests_total") >= before + 2
    assert (
        metric(response, "http_request_duration_seconds_count", method="GET", route=route["route"])
        >= 2
    )
    assert metric(response, "cache_hits_total", resource="item") >= 1
    assert metric(response, "cache_misses_total", resource="item") >= 1
    assert metric(response, "db_pool_capacity") >= 1
    assert 'db_pool_connections{state="in_use"}' in response.text
    # Raw paths never become series: the item id appears in no label.
    assert created.json()["id"] not in response.text


async def test_unknown_paths_share_one_series(client: AsyncClient) -> None:
    # Letters, not digits: a number could turn up in a sample value (a start time, say).
    await client.get("/no/such/page/qzxv-unknown")
    response = await client.get("/metrics")
    assert metric(response, "http_requests_total", route="<unmatched>", status="404") >= 1
    assert "qzxv-unknown" not in response.text


async def test_rate_limit_rejections_are_counted(make_client: MakeClient) -> None:
    async with make_client(rate_limit=RateLimit(api_per_minute=1)) as client:
        account = await signup(client)
        before = metric(await client.get("/metrics"), "rate_limit_rejections_total", scope="api")
        for _ in range(2):
            await client.get(f"{API}/users/me", headers=account.headers)
        after = metric(await client.get("/metrics"), "rate_limit_rejections_total", scope="api")
        assert after == before + 1
