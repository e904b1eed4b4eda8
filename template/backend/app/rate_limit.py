"""Rate limits over the same Store as the cache (Redis, or in-process in dev): each identity's
window opens at its first request and counts up to the limit until it closes.

On Redis, a worker takes a limit's requests from Redis in batches and counts them down in its own
memory, so most requests cost no round trip: `batch` requests at a time, small enough that the
batches other workers hold unused cost an identity at most `ACCURACY` of its limit. Redis never
grants more than the limit in a window, so no identity ever gets more than its limit; once it has
refused a window, the worker refuses the rest of it without asking again.
"""

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from app.cache import Counted, Store
from app.observability import metrics

# The share of a limit that batches held by other workers may keep from an identity.
ACCURACY = 0.1
# Identities whose batch a worker remembers (the least recently seen go first).
MAX_BATCHES = 10_000


class Hit(NamedTuple):
    retry_after: int | None  # None: allowed; else the seconds until the window ends


class Batch(NamedTuple):
    left: int  # requests granted and not yet used
    until: float  # when the window closes, on `clock`
    refused: bool = False  # the store has no more for this window


class RateLimiter:
    """`processes`: the most worker processes that share one identity's requests (every replica's
    workers); `batches=False` counts every request in the store (the in-process store, where
    counting costs no round trip)."""

    def __init__(
        self,
        store: Store,
        window_seconds: int = 60,
        *,
        processes: int = 1,
        batches: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.window_seconds = window_seconds
        self.processes = processes
        self.batches = batches
        self._clock = clock
        self._held: OrderedDict[str, Batch] = OrderedDict()
        # Batches on their way from the store: an identity's other requests wait for it rather
        # than each take a batch of their own.
        self._taking: dict[str, asyncio.Future[None]] = {}

    def batch(self, limit: int) -> int:
        """Requests taken from the store at once: each of the other processes may hold up to one
        batch unused, together at most ACCURACY of the limit."""
        if not self.batches:
            return 1
        return max(1, int(limit * ACCURACY / max(1, self.processes - 1)))

    async def hit(self, scope: str, identity: str, limit: int) -> Hit:
        """Count one request of `identity` against `limit` per window.

        When the store cannot count (Redis down), the request is allowed: the limit fails open.
        """
        key = f"rl:{scope}:{identity}"
        size = self.batch(limit)
        if size == 1:  # counted request by request: nothing held here
            return self._decide(scope, await self.store.incr(key, self.window_seconds), limit)
        while (taking := self._taking.get(key)) is not None:
            await taking
        now = self._clock()
        held = self._held.get(key)
        if held is not None and now < held.until:
            if held.left > 0:
                self._remember(key, held._replace(left=held.left - 1))
                return Hit(None)
            if held.refused:
                return self._refuse(scope, math.ceil(held.until - now))
        self._taking[key] = asyncio.get_running_loop().create_future()
        try:
            counted = await self.store.incr(key, self.window_seconds, size)
        finally:
            self._taking.pop(key).set_result(None)
        if counted is None:
            return Hit(None)
        count, seconds_left = counted
        # What is left of the limit after the batches granted before this one.
        granted = min(size, limit - (count - size))
        self._remember(key, Batch(max(0, granted - 1), now + seconds_left, refused=granted <= 0))
        return Hit(None) if granted > 0 else self._refuse(scope, seconds_left)

    async def count(self, scope: str, identity: str, amount: int = 1) -> Counted:
        """Add `amount` to `identity`'s count in the store at once (no batches): for counts that
        must be exact, such as failures (`amount=-1` gives one back)."""
        return await self.store.incr(f"rl:{scope}:{identity}", self.window_seconds, amount)

    async def take(self, scope: str, identity: str, limit: int) -> Hit:
        """Like `hit`, counted exactly in the store, so that `count(scope, identity, -1)` can give
        the request back once it turns out not to count (a right password, for a failure limit)."""
        return self._decide(scope, await self.count(scope, identity), limit)

    async def reached(self, scope: str, identity: str, limit: int) -> bool:
        """Whether `identity` has used all of `limit` in this window, without counting anything."""
        counted = await self.count(scope, identity, 0)
        return counted is not None and counted[0] >= limit

    def _decide(self, scope: str, counted: Counted, limit: int) -> Hit:
        if counted is None or counted[0] <= limit:
            return Hit(None)
        return self._refuse(scope, counted[1])

    def _refuse(self, scope: str, seconds_left: int) -> Hit:
        metrics.RATE_LIMIT_REJECTIONS.labels(scope).inc()
        return Hit(max(1, seconds_left))

    def _remember(self, key: str, batch: Batch) -> None:
        self._held[key] = batch
        self._held.move_to_end(key)
        if len(self._held) > MAX_BATCHES:
            self._held.popitem(last=False)
