"""Cache-aside: MISS, then HIT, and every write makes the next read a MISS with fresh data, in
every worker and after a restart, even when Redis held the write's invalidation back."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
import redis
from fastapi import FastAPI
from httpx import AsyncClient
from prometheus_client import REGISTRY

from app.accounts import deps
from app.accounts.models import User
from tests.conftest import TEST_REDIS_URL, MakeApp, MakeClient
from tests.utils import (
    API,
    Account,
    closed_port,
    metric,
    request_that_leaves,
    run_jobs,
    signup,
)

pytestmark = pytest.mark.anyio


async def get(client: AsyncClient, url: str, headers: dict[str, str]) -> tuple[str, dict]:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["X-Cache"], response.json()


async def test_list_miss_hit_and_invalidation_on_every_write(client: AsyncClient) -> None:
    account = await signup(client)
    url = f"{API}/items"
    assert (await get(client, url, account.headers))[0] == "MISS"
    assert await get(client, url, account.headers) == ("HIT", {"data": [], "count": 0})

    created = await client.post(url, json={"title": "first"}, headers=account.headers)
    item_id = created.json()["id"]
    status, body = await get(client, url, account.headers)
    assert (status, body["count"]) == ("MISS", 1)
    assert (await get(client, url, account.headers))[0] == "HIT"

    await client.patch(f"{url}/{item_id}", json={"title": "renamed"}, headers=account.headers)
    status, body = await get(client, url, account.headers)
    assert (status, body["data"][0]["title"]) == ("MISS", "renamed")

    await client.delete(f"{url}/{item_id}", headers=account.headers)
    assert await get(client, url, account.headers) == ("MISS", {"data": [], "count": 0})


async def test_item_miss_hit_and_invalidation(client: AsyncClient) -> None:
    account = await signup(client)
    created = await client.post(f"{API}/items", json={"title": "a"}, headers=account.headers)
    url = f"{API}/items/{created.json()['id']}"
    assert (await get(client, url, account.headers))[0] == "MISS"
    assert (await get(client, url, account.headers))[0] == "HIT"

    # Other items' writes leave it cached; its own update does not.
    await client.post(f"{API}/items", json={"title": "another"}, headers=account.headers)
    assert (await get(client, url, account.headers))[0] == "HIT"
    await client.patch(url, json={"title": "b"}, headers=account.headers)
    status, body = await get(client, url, account.headers)
    assert (status, body["title"]) == ("MISS", "b")

    await client.delete(url, headers=account.headers)
    assert (await client.get(url, headers=account.headers)).status_code == 404


async def test_pages_are_cached_separately(client: AsyncClient) -> None:
    account = await signup(client)
    for title in ("one", "two", "three"):
        await client.post(f"{API}/items", json={"title": title}, headers=account.headers)
    await get(client, f"{API}/items?limit=1", account.headers)
    status, body = await get(client, f"{API}/items?limit=1&offset=1", account.headers)
    assert (status, [item["title"] for item in body["data"]]) == ("MISS", ["two"])


async def test_current_user_is_cached(client: AsyncClient) -> None:
    account = await signup(client)
    statuses = [
        (await client.get(f"{API}/users/me", headers=account.headers)).headers["X-Cache"]
        for _ in range(2)
    ]
    assert statuses == ["MISS", "HIT"]


async def test_redis_unreachable_still_answers_from_the_database(make_client: MakeClient) -> None:
    async with make_client(redis_url=f"redis://127.0.0.1:{closed_port()}/0") as client:
        account = await signup(client)  # login's rate limit fails open too
        created = await client.post(f"{API}/items", json={"title": "x"}, headers=account.headers)
        assert created.status_code == 201
        for _ in range(2):
            response = await client.get(f"{API}/items", headers=account.headers)
            assert response.status_code == 200
            assert response.headers["X-Cache"] == "MISS"
            assert response.json()["count"] == 1
        metrics = (await client.get("/metrics")).text
        assert 'redis_fail_open_total{component="cache"}' in metrics
        assert 'redis_fail_open_total{component="rate_limit"}' in metrics


@pytest.mark.skipif(not TEST_REDIS_URL, reason="workers share a cache only through Redis")
async def test_a_write_in_one_worker_invalidates_what_the_others_cached(
    make_client: MakeClient,
) -> None:
    async with make_client() as first, make_client() as second:
        account = await signup(first)
        url = f"{API}/items"
        assert (await get(first, url, account.headers))[0] == "MISS"
        assert (await get(first, url, account.headers))[0] == "HIT"
        created = await second.post(url, json={"title": "first"}, headers=account.headers)
        status, body = await get(first, url, account.headers)
        assert (status, body["count"]) == ("MISS", 1)
        # One item, cached by the first worker, changed by the second, read by the first again.
        item = f"{url}/{created.json()['id']}"
        assert (await get(first, item, account.headers))[0] == "MISS"
        assert (await get(first, item, account.headers))[0] == "HIT"
        changed = {"title": "changed"}
        assert (await second.patch(item, json=changed, headers=account.headers)).status_code == 200
        status, body = await get(first, item, account.headers)
        assert (status, body["title"]) == ("MISS", "changed")


class CurrentUserWithPlan(deps.CurrentUser):
    """The next release's user model: one more required field."""

    plan: str


@pytest.mark.skipif(not TEST_REDIS_URL, reason="two app instances share a cache only through Redis")
async def test_a_deploy_that_changes_a_model_never_reads_what_the_old_code_cached(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with make_client() as old:
        account = await signup(old)
        for _ in range(2):  # the second is served from the cache
            assert (await old.get(f"{API}/users/me", headers=account.headers)).status_code == 200

    # The new release reads the same Redis with a user model the old entry does not fit.
    monkeypatch.setattr(User, "plan", "free", raising=False)
    monkeypatch.setattr(deps, "CurrentUser", CurrentUserWithPlan)
    async with make_client() as new:
        statuses = []
        for _ in range(2):
            response = await new.get(f"{API}/users/me", headers=account.headers)
            assert response.status_code == 200, response.text
            statuses.append(response.headers["X-Cache"])
        assert statuses == ["MISS", "HIT"]


def drop_connections_to(redis_url: str) -> None:
    """Close every connection to `redis_url`'s database from the server side, as a Redis restart
    does, leaving the app's pool full of dead sockets."""
    with redis.Redis.from_url(redis_url) as admin:
        me = admin.client_id()
        database = admin.connection_pool.connection_kwargs.get("db", 0)
        for connection in admin.client_list():
            if int(connection["db"]) == database and int(connection["id"]) != me:
                admin.client_kill_filter(_id=connection["id"])


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs a Redis server to drop connections")
async def test_dead_connections_left_by_a_redis_restart_cost_no_cache_hit(
    make_client: MakeClient,
) -> None:
    assert TEST_REDIS_URL
    async with make_client() as client:
        account = await signup(client)
        url = f"{API}/items"
        await get(client, url, account.headers)
        assert (await get(client, url, account.headers))[0] == "HIT"
        failed_open = metric(await client.get("/metrics"), "redis_fail_open_total")

        drop_connections_to(TEST_REDIS_URL)
        assert (await get(client, url, account.headers))[0] == "HIT"
        assert (await get(client, url, account.headers))[0] == "HIT"
        assert metric(await client.get("/metrics"), "redis_fail_open_total") == failed_open


@contextmanager
def writes_stalled(redis_url: str) -> Iterator[None]:
    """Redis answers reads but holds every write until the block ends (CLIENT PAUSE ... WRITE, as
    Redis's own FAILOVER does). It holds the whole server's writes: keep the block short."""
    with redis.Redis.from_url(redis_url) as admin:
        admin.client_pause(30_000, all=False)  # ended below; the timeout is for a crashed test
        try:
            yield
        finally:
            admin.client_unpause()


async def item_cached_in_a_list(client: AsyncClient) -> tuple[Account, str]:
    """An account whose item (titled "old") is cached, on its own and in their list: its URL."""
    account = await signup(client)
    created = await client.post(f"{API}/items", json={"title": "old"}, headers=account.headers)
    url = f"{API}/items/{created.json()['id']}"
    for _ in range(2):
        await get(client, f"{API}/items", account.headers)
        await get(client, url, account.headers)
    assert (await get(client, url, account.headers))[0] == "HIT"
    return account, url


async def titles(client: AsyncClient, account: Account, url: str) -> tuple[str, str]:
    """The item's title as the list and the item read it."""
    _, page = await get(client, f"{API}/items", account.headers)
    _, item = await get(client, url, account.headers)
    return page["data"][0]["title"], item["title"]


async def until_replayed(
    writer: AsyncClient, reader: AsyncClient, account: Account, url: str
) -> None:
    """Run the job worker (as it runs beside the API) until `reader` reads the new title: within
    the replay's wait once Redis takes writes again (1 s after a first failure)."""
    for _ in range(40):
        await run_jobs(writer)
        if await titles(reader, account, url) == ("new", "new"):
            return
        await asyncio.sleep(0.25)


@asynccontextmanager
async def renamed_while_writes_stall(
    client: AsyncClient, account: Account, url: str
) -> AsyncIterator[None]:
    """PATCH the item's title to "new" while Redis takes no writes; the block runs in the stall."""
    assert TEST_REDIS_URL
    with writes_stalled(TEST_REDIS_URL):
        renamed = await client.patch(url, json={"title": "new"}, headers=account.headers)
        assert renamed.status_code == 200  # the invalidation failed open
        yield


NEEDS_REDIS = pytest.mark.skipif(not TEST_REDIS_URL, reason="a write stall is Redis's")
NEEDS_BOTH = pytest.mark.skipif(
    not (TEST_REDIS_URL and os.environ.get("TEST_DATABASE_URL")),
    reason="a write stall is Redis's; the replay is a job on the PostgreSQL queue",
)


@NEEDS_REDIS
async def test_the_writing_worker_never_reads_what_a_stalled_write_replaced(
    make_client: MakeClient,
) -> None:
    async with make_client() as client:
        account, url = await item_cached_in_a_list(client)
        async with renamed_while_writes_stall(client, account, url):
            assert await titles(client, account, url) == ("new", "new")
        assert await titles(client, account, url) == ("new", "new")


@NEEDS_BOTH
async def test_an_invalidation_lost_in_a_write_stall_reaches_the_other_workers(
    make_client: MakeClient,
) -> None:
    async with make_client() as writer, make_client() as other:
        account, url = await item_cached_in_a_list(other)
        async with renamed_while_writes_stall(writer, account, url):
            await run_jobs(writer)  # the job worker's first try fails too: it tries again
        await until_replayed(writer, other, account, url)
        assert await titles(other, account, url) == ("new", "new")


@NEEDS_BOTH
async def test_an_invalidation_lost_in_a_write_stall_is_replayed_after_a_restart(
    make_client: MakeClient,
) -> None:
    async with make_client() as before:
        account, url = await item_cached_in_a_list(before)
        async with renamed_while_writes_stall(before, account, url):
            pass
    # A deploy: the process that knew the invalidation was lost is gone.
    async with make_client() as after:
        await run_jobs(after)  # the job worker, which runs beside the API
        assert await titles(after, account, url) == ("new", "new")


async def renamed_by_a_client_that_leaves(app: FastAPI, account: Account, url: str) -> None:
    """PATCH the item's title to "new" from a client that disconnects, so the request is cancelled,
    once the write has committed and the invalidation's first Redis write has timed out."""
    scope, receive, left = request_that_leaves("PATCH", url, account.access_token, {"title": "new"})

    async def send(message: dict[str, object]) -> None:
        pass

    def failed_open() -> float:
        return REGISTRY.get_sample_value("redis_fail_open_total", {"component": "cache"}) or 0

    before = failed_open()
    served = asyncio.create_task(app(scope, receive, send))
    for _ in range(500):
        if failed_open() > before:
            break
        await asyncio.sleep(0.01)
    left.set()  # the request now waits out the next Redis call's timeout
    await served


@NEEDS_BOTH
async def test_an_invalidation_is_carried_through_when_the_client_leaves_during_a_stall(
    make_app: MakeApp, make_client: MakeClient
) -> None:
    assert TEST_REDIS_URL
    async with make_app() as (app, writer), make_client() as other:
        account, url = await item_cached_in_a_list(other)
        with writes_stalled(TEST_REDIS_URL):
            await renamed_by_a_client_that_leaves(app, account, url)
        await until_replayed(writer, other, account, url)
        assert await titles(other, account, url) == ("new", "new")
