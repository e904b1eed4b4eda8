"""Rate limits over the same Store as the cache (Redis, or in-process in dev): each identity's
window opens at its first request and counts up to the limit until it closes.

On Redis, a worker takes a limit's requests from Redis in batches and counts them down in its own
memory, so most requests cost no round trip: `batch` requests at a time, small enough that the
batches other workers hold unused cost an identity at most `ACCURACY` of its limit. Redis never
grants more than the limit in a window, so no identity ever gets more than its limit.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from app.core import metrics
from app.core.cache import Store

# The share of a limit that batches held by other workers may keep from an identity.
ACCURACY = 0.1
# Identities whose batch a worker remembers (the least recently seen go first).
MAX_BATCHES = 10_000


class Hit(NamedTuple):
    retry_after: int | None  # None: allowed; else the seconds until the window ends


class Batch(NamedTuple):
    left: int  # requests granted and not yet used
    until: float  # when the window closes, on `clock`


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
        now = self._clock()
        held = self._held.pop(key, None)
        if held is not None and held.left > 0 and now < held.until:
            self._remember(key, Batch(held.left - 1, held.until))
            return Hit(None)
        size = self.batch(limit)
        counted = await self.store.incr(key, self.window_seconds, size)
        if counted is None:
            return Hit(None)
        count, seconds_left = counted
        # What is left of the limit after the batches granted before this one.
        granted = min(size, limit - (count - size))
        if granted > 0:
            if granted > 1:
                self._remember(key, Batch(granted - 1, now + seconds_left))
            return Hit(None)
        metrics.RATE_LIMIT_REJECTIONS.labels(scope).inc()
        return Hit(max(1, seconds_left))

    def _remember(self, key: str, batch: Batch) -> None:
        self._held[key] = batch
        if len(self._held) > MAX_BATCHES:
            self._held.popitem(last=False)
