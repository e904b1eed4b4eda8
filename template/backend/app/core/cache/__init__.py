"""The cache and the stores it shares with the rate limiter, one module per part:

- store.py: the Store protocol and the in-process store (`make dev`)
- redis_store.py: the Store on Redis, failing open; breaker.py: when to stop asking Redis
- tracking.py: each worker's copies of Redis's entries, kept right by Redis's notices
- aside.py: cache-aside (leases, shapes, namespace tokens, replayed invalidations; the job that
  replays them after a restart is app/jobs/cache.py)
- routes.py: how a route opts in (`Cached`, `Invalidates`)

Redis when REDIS_URL is set (one connection pool per worker, sized by the tier, and copies of
its entries in each worker's memory), otherwise the in-process store. Redis failures never fail
a request: the store answers "nothing cached" or "not counted" (fail open), skips Redis for a
short while, logs once per interval and counts it.
"""

from app.core.cache.aside import LEASE_PREFIX, LEASE_SECONDS, Cache, ReplayLater, shape
from app.core.cache.breaker import RedisBreaker
from app.core.cache.redis_store import RedisStore, create_redis
from app.core.cache.routes import Cached, CachedRead, Invalidates, cached_json
from app.core.cache.store import Counted, MemoryStore, Store
from app.core.cache.tracking import TrackedStore

__all__ = [
    "LEASE_PREFIX",
    "LEASE_SECONDS",
    "Cache",
    "Cached",
    "CachedRead",
    "Counted",
    "Invalidates",
    "MemoryStore",
    "RedisBreaker",
    "RedisStore",
    "ReplayLater",
    "Store",
    "TrackedStore",
    "cached_json",
    "create_redis",
    "shape",
]
