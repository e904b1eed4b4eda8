"""The cache and the stores it shares with the rate limiter, one module per part:

- store.py: the Store protocol and the in-process store (`make dev`)
- redis_store.py: the Store on Redis, failing open; breaker.py: when to stop asking Redis
- tracking.py: each worker's copies of Redis's entries, kept right by Redis's notices
- aside.py: cache-aside (leases, shapes, namespace tokens, replayed invalidations; the job that
  replays them after a restart is app/cache/replay.py)
- declarations.py: how a route opts in (`cached`, `invalidates`): keys and invalidation follow

Redis when REDIS_URL is set (one connection pool per worker, sized by the tier, and copies of
its entries in each worker's memory), otherwise the in-process store. Redis failures never fail
a request: the store answers "nothing cached" or "not counted" (fail open), skips Redis for a
short while, logs once per interval and counts it.
"""

from app.cache.aside import LEASE_PREFIX, LEASE_SECONDS, Cache, ReplayLater, shape
from app.cache.breaker import RedisBreaker
from app.cache.declarations import CachedRead, Declaration, Owner, cached, invalidates
from app.cache.redis_store import RedisStore, create_redis
from app.cache.store import Counted, MemoryStore, Store
from app.cache.tracking import TrackedStore

__all__ = [
    "LEASE_PREFIX",
    "LEASE_SECONDS",
    "Cache",
    "CachedRead",
    "Counted",
    "Declaration",
    "MemoryStore",
    "Owner",
    "RedisBreaker",
    "RedisStore",
    "ReplayLater",
    "Store",
    "TrackedStore",
    "cached",
    "create_redis",
    "invalidates",
    "shape",
]
