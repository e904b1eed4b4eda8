"""Key-value stores for the cache and the rate limiter, and the cache-aside helper.

Redis when REDIS_URL is set (one connection pool per worker, sized by the tier), otherwise an
in-process store. Redis failures never fail a request: the store answers "nothing cached" or
"not counted" (fail open), skips Redis for a short while, logs once per interval and counts it.
"""

import functools
import hashlib
import json
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from starlette.responses import Response

from app.core import metrics
from app.core.config import CacheTTLSeconds, Settings, TTLClass

logger = logging.getLogger(__name__)


# A counter's (count, seconds until it resets), or None when it could not be counted.
Counted = tuple[int, int] | None
# An in-process counter: (count, the clock reading when its window opened).
Window = tuple[int, float]


class Store(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: int, *, if_absent: bool = False) -> bool:
        """Store `value` for `ttl` seconds; with `if_absent`, only when `key` is not there yet."""

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: int) -> bool:
        """Store `value` for `ttl` seconds only if `key` still holds `expected`."""

    async def delete(self, key: str) -> bool:
        """Remove `key`; False only when that could not be done (Redis down)."""

    async def incr(
        self, key: str, ttl: int, *, read: Sequence[str] = ()
    ) -> tuple[Counted, list[bytes | None]]:
        """Add 1 to a counter that starts at its first increment and lives `ttl` seconds, and read
        the keys in `read`, in one round trip: (the counter, the values read)."""


class MemoryStore:
    """The in-process store: one per process, so only right for a single worker (`make dev`)."""

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes | Window]] = OrderedDict()

    def _live(self, key: str) -> bytes | Window | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def _put(self, key: str, value: bytes | Window, expires_at: float) -> None:
        self._entries[key] = (expires_at, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        value = self._live(key)
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl: int, *, if_absent: bool = False) -> bool:
        if if_absent and self._live(key) is not None:
            return False
        self._put(key, value, self._clock() + ttl)
        return True

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: int) -> bool:
        if self._live(key) != expected:
            return False
        self._put(key, value, self._clock() + ttl)
        return True

    async def delete(self, key: str) -> bool:
        self._entries.pop(key, None)
        return True

    async def incr(
        self, key: str, ttl: int, *, read: Sequence[str] = ()
    ) -> tuple[Counted, list[bytes | None]]:
        value = self._live(key)
        now = self._clock()
        count, opened = value if isinstance(value, tuple) else (0, now)
        self._put(key, (count + 1, opened), opened + ttl)
        # From the time elapsed, which is exact (two nearby floats subtract without rounding);
        # ceil(expires_at - now) is not: opened + ttl rounds, and can make 60 s read as 61.
        left = ttl - math.floor(now - opened)
        return (count + 1, left), [await self.get(name) for name in read]


class RedisBreaker:
    """Shared by every RedisStore of a process: once `threshold` calls in a row have failed,
    Redis is skipped for `retry_seconds`, then the next call tries again. redis-py has already
    retried each failed call on a fresh connection (see create_redis), so the dead sockets a Redis
    restart leaves in the pool cost nothing here: only a Redis that keeps failing opens it.
    Failures are logged at most once per `log_seconds`."""

    def __init__(self, retry_seconds: float, threshold: int = 3, log_seconds: float = 30) -> None:
        self.retry_seconds = retry_seconds
        self.threshold = threshold
        self.log_seconds = log_seconds
        self._failures = 0
        self._skip_until = 0.0
        self._last_logged = float("-inf")
        self._unlogged = 0

    def open(self) -> bool:
        return time.monotonic() < self._skip_until

    def succeeded(self) -> None:
        self._failures = 0

    def failed(self, component: str, error: Exception) -> None:
        now = time.monotonic()
        self._failures += 1
        if self._failures >= self.threshold:
            self._skip_until = now + self.retry_seconds
        self._unlogged += 1
        if now - self._last_logged >= self.log_seconds:
            logger.warning(
                "Redis unavailable, answering without it (%s operations failed open since the "
                "last report; skipped for %.0f s after %s failures in a row): %s",
                self._unlogged,
                self.retry_seconds,
                self.threshold,
                error,
                extra={"component": component},
            )
            self._last_logged, self._unlogged = now, 0


# Compare-and-set, atomic in Redis (SET has no "if equal" before Redis 8.4).
REPLACE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false
"""


class RedisStore:
    """A Store on a shared Redis client that fails open; `component` labels its failures."""

    def __init__(self, client: Redis, breaker: RedisBreaker, component: str) -> None:
        self._client = client
        self._replace = client.register_script(REPLACE_IF_EQUAL)
        self._breaker = breaker
        self._failed_open = metrics.REDIS_FAIL_OPEN.labels(component)
        self._component = component

    async def _fail_open(self, call: Callable[[], Awaitable[Any]], fallback: Any) -> Any:
        """`call()`'s answer, or `fallback` when Redis fails or is being skipped."""
        if self._breaker.open():
            self._failed_open.inc()
            return fallback
        try:
            answer = await call()
        except (RedisError, OSError) as error:
            self._failed_open.inc()
            self._breaker.failed(self._component, error)
            return fallback
        self._breaker.succeeded()
        return answer

    async def get(self, key: str) -> bytes | None:
        return await self._fail_open(lambda: self._client.get(key), None)

    async def set(self, key: str, value: bytes, ttl: int, *, if_absent: bool = False) -> bool:
        stored = await self._fail_open(
            lambda: self._client.set(key, value, ex=ttl, nx=if_absent), False
        )
        return bool(stored)

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: int) -> bool:
        replaced = await self._fail_open(
            lambda: self._replace(keys=[key], args=[expected, value, ttl]), False
        )
        return bool(replaced)

    async def delete(self, key: str) -> bool:
        async def deleted() -> bool:
            await self._client.delete(key)
            return True

        return await self._fail_open(deleted, False)

    async def incr(
        self, key: str, ttl: int, *, read: Sequence[str] = ()
    ) -> tuple[Counted, list[bytes | None]]:
        async def counted() -> tuple[Counted, list[bytes | None]]:
            # One round trip, atomic: create the counter with its expiry, count, read what is
            # left of its window, and read the other keys.
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(key, 0, ex=ttl, nx=True).incr(key).ttl(key)
                if read:
                    pipe.mget(read)
                _, count, left, *values = await pipe.execute()
            return (int(count), int(left) if left > 0 else ttl), values[0] if values else []

        return await self._fail_open(counted, (None, [None] * len(read)))


def create_redis(settings: Settings) -> Redis:
    """A client on a bounded pool: at most `redis_max_connections` per worker; a request waits at
    most `redis_timeout_seconds` for a free connection, a connect or an answer.

    A call that finds its connection dead (Redis restarted) is retried by redis-py on a new one,
    with a short backoff; connections idle for a while are pinged before use. Timeouts are not
    retried: a slow Redis must cost a request one timeout at most.
    """
    assert settings.redis_url is not None  # noqa: S101  (callers check)
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_timeout_seconds,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        retry=Retry(EqualJitterBackoff(cap=0.1, base=0.01), retries=2),
        retry_on_error=[RedisConnectionError],
        health_check_interval=5,
    )
    return Redis(connection_pool=pool)


@functools.cache
def shape(model: type[BaseModel]) -> str:
    """A fingerprint of `model`'s JSON schema, computed once per process. Every key that holds a
    `model` carries it, so code whose model changed (a deploy that adds a field) never reads what
    the code before it cached: the old entries are simply not found, and expire on their own."""
    schema = json.dumps(model.model_json_schema(), sort_keys=True).encode()
    return hashlib.sha256(schema).hexdigest()[:12]


class Cache:
    """Cache-aside over a Store, with the tier's TTL classes and invalidation after writes.

    Every entry is filled under a lease: a reader that misses first marks the key as its own
    (`SET NX`), reads the database, and stores the result only if its mark is still there. A
    write deletes the keys it changed after it commits, which also deletes any reader's mark, so
    a read racing a write never stores what the write replaced.

    Entries that one write changes together (all pages of an owner's list) live under a
    namespace token (`ns:<owner>`); a write replaces the token, so all of them become
    unreachable at once and expire on their own. The owner's record (`user:<owner>`) and single
    items (`item:<owner>:<id>`) are not under it: other items' writes leave them cached.
    Invalidations that fail (Redis down) are retried before this worker's next cached read.

    Keys of entries that hold a model carry its `shape` (`user:<shape>:<owner>`), so a deploy
    that changes the model starts from an empty cache for it. `owner_record` is the model of the
    owner's record. `enabled=False` (CACHE_ENABLED=false) reads nothing and keeps nothing.
    """

    def __init__(
        self,
        store: Store,
        ttl_seconds: CacheTTLSeconds,
        *,
        enabled: bool = True,
        owner_record: type[BaseModel] | None = None,
    ) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.enabled = enabled
        self._record_prefix = f"user:{shape(owner_record)}" if owner_record else "user"
        self._pending_owners: set[str] = set()
        self._pending_keys: set[str] = set()

    def ttl(self, ttl_class: TTLClass) -> int:
        return getattr(self.ttl_seconds, ttl_class)

    @staticmethod
    def counted(resource: str, value: bytes | None) -> bytes | None:
        """`value`, a cached read of `resource`, counted as a hit or a miss."""
        counter = metrics.CACHE_MISSES if value is None else metrics.CACHE_HITS
        counter.labels(resource).inc()
        return value

    async def read(
        self,
        key: str,
        resource: str,
        ttl_class: TTLClass,
        load: Callable[[], Awaitable[bytes]],
    ) -> tuple[bytes, bool]:
        """(the value at `key`, True) when cached, else (`load()`'s, False), stored under a lease.
        An exception from `load` (a 404) is never cached."""
        if not self.enabled:
            self.counted(resource, None)
            return await load(), False
        cached = await self.store.get(key)
        if cached is not None and not cached.startswith(LEASE_PREFIX):
            self.counted(resource, cached)
            return cached, True
        self.counted(resource, None)
        lease = LEASE_PREFIX + secrets.token_bytes(8)
        leased = cached is None and await self.store.set(key, lease, LEASE_SECONDS, if_absent=True)
        value = await load()
        if leased:
            await self.store.replace(key, lease, value, self.ttl(ttl_class))
        return value, False

    async def set(self, key: str, value: bytes, ttl_class: TTLClass) -> None:
        if self.enabled:
            await self.store.set(key, value, self.ttl(ttl_class))

    def owner_keys(self, owner: object) -> list[str]:
        """What a signed-in request reads before anything else: the owner's namespace token and
        their cached record (see `owner_entries`); nothing with the cache off."""
        return [f"ns:{owner}", f"{self._record_prefix}:{owner}"] if self.enabled else []

    async def owner_entries(
        self, owner: object, values: Sequence[bytes | None]
    ) -> tuple[str, bytes | None]:
        """The owner's namespace and cached record, from the values read at `owner_keys`."""
        token, record = values or (None, None)
        return await self._namespace(owner, token), self.counted("user", record)

    async def set_owner_record(self, owner: object, record: bytes) -> None:
        await self.set(f"{self._record_prefix}:{owner}", record, "low_change")

    async def forget_owner_record(self, owner: object) -> None:
        """Call after a change to the owner's own record commits (password, email, sign-out)."""
        await self.invalidate(owner, f"{self._record_prefix}:{owner}")

    async def namespace(self, owner: object) -> str:
        """The key prefix for `owner`'s entries, valid until the next invalidation."""
        token = await self.store.get(f"ns:{owner}") if self.enabled else None
        return await self._namespace(owner, token)

    async def _namespace(self, owner: object, token: bytes | None) -> str:
        """`namespace`, given the token just read from `ns:<owner>` (None: there was none)."""
        if not self.enabled:
            return f"{owner}:uncached"
        # A token read before this owner's lost invalidation is replayed is the one it replaces.
        replayed = str(owner) in self._pending_owners
        await self._retry_pending()
        key = f"ns:{owner}"
        if replayed:
            token = await self.store.get(key)
        if token is None:
            token = secrets.token_hex(8).encode()
            if not await self.store.set(key, token, self.ttl("low_change"), if_absent=True):
                token = await self.store.get(key) or token
        return f"{owner}:{token.decode()}"

    async def invalidate(self, owner: object, *keys: str) -> None:
        """Call after a write commits: `owner`'s namespaced entries are gone, and so are `keys`
        (the entries of the items it changed)."""
        if not self.enabled:
            return
        if not await self._replace_token(str(owner)):
            self._pending_owners.add(str(owner))
        for key in keys:
            if not await self.store.delete(key):
                self._pending_keys.add(key)

    async def _replace_token(self, owner: str) -> bool:
        token = secrets.token_hex(8).encode()
        return await self.store.set(f"ns:{owner}", token, self.ttl("low_change"))

    async def _retry_pending(self) -> None:
        for owner in list(self._pending_owners):
            if not await self._replace_token(owner):
                return
            self._pending_owners.discard(owner)
        for key in list(self._pending_keys):
            if not await self.store.delete(key):
                return
            self._pending_keys.discard(key)


# Marks a key while one reader loads it; cached JSON never starts with a NUL byte.
LEASE_PREFIX = b"\x00lease:"
# Longer than a load takes (a pool wait of db_pool.timeout_seconds, then the query).
LEASE_SECONDS = 15


async def cached_json(
    cache: Cache,
    key: str,
    *,
    resource: str,
    ttl_class: TTLClass,
    load: Callable[[], Awaitable[BaseModel]],
) -> Response:
    """Cache-aside: the JSON body cached under `key`, else `load()`'s result, stored for the TTL
    of `ttl_class`. `X-Cache` says which. An exception from `load` (a 404) is never cached."""

    async def body() -> bytes:
        return (await load()).model_dump_json().encode()

    value, hit = await cache.read(key, resource, ttl_class, body)
    return Response(
        value, media_type="application/json", headers={"X-Cache": "HIT" if hit else "MISS"}
    )
