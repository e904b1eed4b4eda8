"""Rate limits over the same Store as the cache (Redis, or in-process in dev): each identity's
window opens at its first request and counts up to the limit until it closes."""

from app.core import metrics
from app.core.cache import Store


class RateLimiter:
    def __init__(self, store: Store, window_seconds: int = 60) -> None:
        self.store = store
        self.window_seconds = window_seconds

    async def hit(self, scope: str, identity: str, limit: int) -> int | None:
        """Count one request of `identity` against `limit` per window.

        Returns None when allowed, else the seconds until the window ends (for Retry-After).
        When the store cannot count (Redis down), the request is allowed: the limit fails open.
        """
        counted = await self.store.incr(f"rl:{scope}:{identity}", self.window_seconds)
        if counted is None or counted[0] <= limit:
            return None
        metrics.RATE_LIMIT_REJECTIONS.labels(scope).inc()
        return max(1, counted[1])
