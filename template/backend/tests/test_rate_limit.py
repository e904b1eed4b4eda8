"""Rate limits taken in batches: no identity ever gets more than its limit in a window, and the
batches other workers hold unused keep at most 10% of it from anyone."""

import asyncio

import pytest

from app.cache import Counted, MemoryStore
from app.rate_limit import RateLimiter

pytestmark = pytest.mark.anyio


def workers(count: int, clock: list[float]) -> list[RateLimiter]:
    """`count` workers' limiters on one shared store (as they share Redis)."""
    store = MemoryStore(max_entries=100, clock=lambda: clock[0])
    return [RateLimiter(store, processes=count, clock=lambda: clock[0]) for _ in range(count)]


async def allowed(limiter: RateLimiter, limit: int, tries: int) -> int:
    return sum([(await limiter.hit("api", "someone", limit)).retry_after is None
                for _ in range(tries)])  # fmt: skip


@pytest.mark.parametrize("count", [1, 2, 10])
async def test_requests_spread_evenly_get_exactly_the_limit(count: int) -> None:
    limiters = workers(count, [0.0])
    admitted = [await allowed(limiter, 300, 100) for _ in range(5) for limiter in limiters]
    assert sum(admitted) == 300


@pytest.mark.parametrize("count", [2, 10])
async def test_batches_held_unused_elsewhere_cost_at_most_a_tenth(count: int) -> None:
    limiters = workers(count, [0.0])
    # Every other worker takes a batch and uses one request of it; then one worker gets the rest.
    taken = [await allowed(limiter, 300, 1) for limiter in limiters[1:]]
    admitted = sum(taken) + await allowed(limiters[0], 300, 400)
    assert 270 <= admitted <= 300


async def test_small_limits_are_counted_request_by_request() -> None:
    first, second = workers(2, [0.0])
    assert first.batch(10) == 1
    admitted = [await allowed(limiter, 3, 1) for limiter in (first, second, first, second)]
    assert admitted == [1, 1, 1, 0]


async def test_refused_until_the_window_closes_then_a_new_one_opens() -> None:
    clock = [1000.0]
    first, second = workers(2, clock)
    assert await allowed(first, 100, 100) + await allowed(second, 100, 1) == 100
    clock[0] += 20
    assert (await second.hit("api", "someone", 100)).retry_after == 40
    clock[0] += 41
    assert await allowed(second, 100, 1) == 1


async def test_a_batch_ends_with_its_window() -> None:
    clock = [0.0]
    (limiter,) = workers(1, clock)
    await allowed(limiter, 300, 1)  # takes a batch of 30
    clock[0] += 61
    # The window closed: the batch's 29 left are gone, and a new window counts from one batch.
    await allowed(limiter, 300, 1)
    assert await limiter.store.incr("rl:api:someone", 60, 0) == (30, 60)


class SlowStore(MemoryStore):
    """A store whose counts take a moment to come back, as Redis's do."""

    async def incr(self, key: str, ttl: int, amount: int = 1) -> Counted:
        await asyncio.sleep(0.01)
        return await super().incr(key, ttl, amount)


async def test_simultaneous_requests_share_one_batch() -> None:
    limiter = RateLimiter(SlowStore(max_entries=10), processes=2)
    hits = await asyncio.gather(*(limiter.hit("api", "someone", 300) for _ in range(20)))
    assert [hit.retry_after for hit in hits] == [None] * 20
    assert await limiter.store.incr("rl:api:someone", 60, 0) == (30, 60)


async def test_a_refused_window_is_refused_without_asking_again() -> None:
    clock = [0.0]
    store = SlowStore(max_entries=10, clock=lambda: clock[0])
    limiter = RateLimiter(store, processes=2, clock=lambda: clock[0])
    assert await allowed(limiter, 20, 25) == 20
    taken = await store.incr("rl:api:someone", 60, 0)
    clock[0] += 10
    assert (await limiter.hit("api", "someone", 20)).retry_after == 50
    assert await store.incr("rl:api:someone", 60, 0) == (taken[0], 50)
