"""Rate limits over the same Store as the cache (Redis, or in-process in dev): each identity's
window opens at its first request and counts up to the limit until it closes."""

from collections.abc import Sequence
from typing import NamedTuple

from app.core import metrics
from app.core.cache import Store


class Hit(NamedTuple):
    retry_after: int | None  # None: allowed; else the seconds until the window ends
    values: list[bytes | None]  # of the keys read along


class RateLimiter:
    def __init__(self, store: Store, window_seconds: int = 60) -> None:
        self.store = store
        self.window_seconds = window_seconds

    async def hit(self, scope: str, identity: str, limit: int, *, read: Sequence[str] = ()) -> Hit:
        """Count one request of `identity` against `limit` per window, and read the keys in
        `read` from the store in the same round trip.

        When the store cannot count (Redis down), the request is allowed: the limit fails open.
        """
        counted, values = await self.store.incr(
            f"rl:{scope}:{identity}", self.window_seconds, read=read
        )
        if counted is None or counted[0] <= limit:
            return Hit(None, values)
        metrics.RATE_LIMIT_REJECTIONS.labels(scope).inc()
        return Hit(max(1, counted[1]), values)
