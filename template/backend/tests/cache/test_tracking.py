"""Each worker's copies of the cache's Redis entries: used for reads, and dropped whenever Redis
says a key changed, the database was flushed, or the tracking connection was lost."""

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
import redis.exceptions

from app.cache import MemoryStore, RedisBreaker, RedisStore, TrackedStore, create_redis
from tests.cache.test_cached_routes import drop_connections_to
from tests.conftest import TEST_REDIS_URL, make_settings
from tests.utils import closed_port

pytestmark = pytest.mark.anyio
NEEDS_REDIS = pytest.mark.skipif(not TEST_REDIS_URL, reason="copies are kept right by Redis")


@pytest.fixture
async def other_worker() -> AsyncIterator[redis.asyncio.Redis]:
    """Another worker's writes: a plain client of the same Redis."""
    assert TEST_REDIS_URL
    # Retried on a new connection when drop_connections_to closed its own.
    retried = [redis.exceptions.ConnectionError]
    async with redis.asyncio.Redis.from_url(TEST_REDIS_URL, retry_on_error=retried) as client:
        yield client


def tracked_store(redis_url: str | None) -> tuple[redis.asyncio.Redis, TrackedStore]:
    client = create_redis(make_settings(redis_url=redis_url))
    return client, TrackedStore(
        client,
        RedisStore(client, RedisBreaker(retry_seconds=1), "cache"),
        MemoryStore(max_entries=100),
        max_age_seconds=60,
        ping_seconds=0.2,
        retry_seconds=0.01,
    )


@pytest.fixture
async def store() -> AsyncIterator[TrackedStore]:
    client, tracked = tracked_store(TEST_REDIS_URL)
    tracking = asyncio.create_task(tracked.track())
    await until(tracked.tracking)
    yield tracked
    tracking.cancel()
    await client.aclose()


async def until(condition: object, seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {seconds} s: {condition}")


async def read_until_copied(store: TrackedStore, key: str, value: bytes) -> None:
    """Read `key` until the store keeps a copy of it. The write's own notice may reach the tracking
    connection during a read, which then keeps no copy (it cannot tell the value is current): a
    later read does."""
    for _ in range(100):
        assert await store.get_many([key, "tracked:none"]) == [value, None]
        if store.copied(key):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no copy of {key} kept")


@NEEDS_REDIS
async def test_a_read_after_the_first_comes_from_the_copy(
    store: TrackedStore, other_worker: redis.asyncio.Redis
) -> None:
    await other_worker.set("tracked:a", b"1")
    await read_until_copied(store, "tracked:a", b"1")
    assert await store.get("tracked:a") == b"1"


@NEEDS_REDIS
async def test_a_write_elsewhere_is_seen_by_the_very_next_read(
    store: TrackedStore, other_worker: redis.asyncio.Redis
) -> None:
    for round_ in range(50):  # no pause between the write and the read
        await other_worker.set("tracked:b", str(round_).encode())
        assert await store.get("tracked:b") == str(round_).encode()
        assert await store.get("tracked:b") == str(round_).encode()


@NEEDS_REDIS
async def test_a_flush_drops_every_copy(
    store: TrackedStore, other_worker: redis.asyncio.Redis
) -> None:
    await other_worker.set("tracked:c", b"1")
    await read_until_copied(store, "tracked:c", b"1")
    await other_worker.flushdb()
    # Unlike a key's notice, FLUSHDB's may reach this worker a moment after the flush's answer
    # reached the flushing client (Redis queues it first, then writes the newest replies first).
    await until(lambda: not store.copied("tracked:c"))
    assert await store.get("tracked:c") is None


@NEEDS_REDIS
async def test_no_copy_is_used_while_tracking_is_lost(
    store: TrackedStore, other_worker: redis.asyncio.Redis
) -> None:
    assert TEST_REDIS_URL
    await other_worker.set("tracked:d", b"before")
    await store.get("tracked:d")
    drop_connections_to(TEST_REDIS_URL)  # the tracking connection too: its notices are lost
    await other_worker.set("tracked:d", b"while tracking was down")
    assert await store.get("tracked:d") == b"while tracking was down"
    await until(store.tracking)  # back: copies again
    await store.get("tracked:d")
    assert store.copied("tracked:d")


async def test_a_redis_that_does_not_track_is_reported_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, store = tracked_store(f"redis://127.0.0.1:{closed_port()}/0")
    tracking = asyncio.create_task(store.track())
    await asyncio.sleep(0.3)  # many tries, one every 10 ms
    tracking.cancel()
    await client.aclose()
    reports = [r for r in caplog.records if "not tracking this worker's" in r.getMessage()]
    assert len(reports) == 1
    assert not store.tracking()
