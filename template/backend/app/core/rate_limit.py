"""Fixed-window rate limits over the same Store as the cache (Redis, or in-process in dev)."""

import math
import time

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
        now = time.time()
        window = int(now // self.window_seconds)
        count = await self.store.incr(f"rl:{scope}:{identity}:{window}", self.window_seconds)
        if count is None or count <= limit:
            return None
        metrics.RATE_LIMIT_REJECTIONS.labels(scope).inc()
        return max(1, math.ceil((window + 1) * self.window_seconds - now))
