"""The Store on Redis: a bounded connection pool per worker, and every call failing open (one
wrapper: "nothing cached", "not counted", "not stored"), counted and skipped while the breaker
is open."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.cache.breaker import RedisBreaker
from app.cache.store import Counted
from app.core.config import Settings
from app.observability import metrics

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

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return await self._fail_open(lambda: self._client.mget(keys), [None] * len(keys))

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

    async def incr(self, key: str, ttl: int, amount: int = 1) -> Counted:
        async def counted() -> Counted:
            # One round trip, atomic: create the counter with its expiry, count, read what is
            # left of its window.
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(key, 0, ex=ttl, nx=True).incrby(key, amount).ttl(key)
                _, count, left = await pipe.execute()
            return int(count), int(left) if left > 0 else ttl

        return await self._fail_open(counted, None)


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
