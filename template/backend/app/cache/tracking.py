"""Each worker's copies of the cache's Redis entries, kept right by Redis itself: a hit is a
lookup in the worker's memory, with no round trip.

The worker opens one more connection to Redis and turns on server-assisted client-side caching in
broadcast mode on it (`CLIENT TRACKING ON BCAST`, RESP3): from then on Redis pushes the name of
every key that changes, expires or is evicted, and the worker drops its copy of it. `FLUSHDB`
drops them all, once its notice arrives: unlike a key's, it can trail the flush's own answer by a
moment (an operator's flush is not a write any request waits on).

Why a write in one worker is never followed by a stale read in another: Redis sends the
invalidation notices of a write before its answer to the write (both leave in the same pass of
its event loop, the notices first), so when the writing request answers, the notice is already in
every other worker's tracking socket. A worker answers from its copies only when that socket has
nothing unread; otherwise it asks Redis. The template's tests/variant_checks/consistency.py checks
this across real worker processes.

Copies are used only while the tracking connection is up and has answered a ping within
`stale_seconds`. When it drops (Redis restarted, a network cut), every copy goes, and none is used
or made until tracking is back: reads go to Redis meanwhile, as they would without copies.
"""

import asyncio
import contextlib
import logging
import math
import select
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app.cache.redis_store import RedisStore
from app.cache.store import Counted, MemoryStore
from app.observability import metrics

logger = logging.getLogger(__name__)


class TrackedStore:
    """A Store on Redis (`redis`) that answers reads from copies in this worker's memory
    (`copies`) while Redis's invalidation notices keep them right. Run `track()` as a task."""

    def __init__(
        self,
        client: Redis,
        redis: RedisStore,
        copies: MemoryStore,
        *,
        max_age_seconds: float,
        ping_seconds: float = 1.0,
        retry_seconds: float = 1.0,
    ) -> None:
        self._client = client
        self._redis = redis
        self._copies = copies
        self._max_age = max_age_seconds
        self._ping_seconds = ping_seconds
        self._stale_seconds = 3 * ping_seconds
        self._retry_seconds = retry_seconds
        self._tracking = False
        # The next failure to track is logged: the first try's, then the first after each time
        # tracking was up (a Redis that never tracks is reported once, not at every retry).
        self._report_failure = True
        self._heard = -math.inf
        self._unread = lambda: True  # set while the tracking connection is up
        # Counts notices and reconnections: a value read from Redis is copied only if none came
        # while it was on its way (the notice may be about that very key).
        self._generation = 0
        self._hits = metrics.CACHE_COPIES.labels("hit")
        self._misses = metrics.CACHE_COPIES.labels("miss")

    def tracking(self) -> bool:
        """Whether Redis is telling this worker about changes (its copies are in use)."""
        return self._tracking

    def copied(self, key: str) -> bool:
        return self._copies.peek(key) is not None

    def _trusted(self) -> bool:
        """Whether the copies hold every notice Redis has sent: tracking is up, has answered a
        ping lately, and nothing it sent is waiting to be read."""
        return (
            self._tracking
            and time.monotonic() - self._heard < self._stale_seconds
            and not self._unread()
        )

    async def get(self, key: str) -> bytes | None:
        return (await self.get_many([key]))[0]

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        trusted = self._trusted()
        values = [self._copies.peek(key) if trusted else None for key in keys]
        missing = [key for key, value in zip(keys, values, strict=True) if value is None]
        self._hits.inc(len(keys) - len(missing))
        if not missing:
            return values
        self._misses.inc(len(missing))
        generation = self._generation
        fetched = iter(await self._redis.get_many(missing))
        copy = self._trusted() and generation == self._generation
        for index, value in enumerate(values):
            if value is None:
                value = values[index] = next(fetched)
                if copy and value is not None:
                    self._copies.put(keys[index], value, self._max_age)
        return values

    async def set(self, key: str, value: bytes, ttl: int, *, if_absent: bool = False) -> bool:
        self._copies.drop(key)
        return await self._redis.set(key, value, ttl, if_absent=if_absent)

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: int) -> bool:
        self._copies.drop(key)
        return await self._redis.replace(key, expected, value, ttl)

    async def delete(self, key: str) -> bool:
        self._copies.drop(key)
        return await self._redis.delete(key)

    async def incr(self, key: str, ttl: int, amount: int = 1) -> Counted:
        return await self._redis.incr(key, ttl, amount)

    async def track(self) -> None:
        """Hold the tracking connection, reconnecting after `retry_seconds` when it drops."""
        while True:
            connection = self._tracking_connection()
            try:
                await self._listen(connection)
            except (RedisError, OSError, TimeoutError) as error:
                if self._report_failure:
                    logger.warning(
                        "Redis is not tracking this worker's cached copies (%s); cache reads go "
                        "to Redis until it does (it needs Redis 6+ and CLIENT TRACKING)",
                        error,
                    )
                self._report_failure = False
            finally:
                self._forget_all()
                self._tracking = False
                with contextlib.suppress(RedisError, OSError):
                    await connection.disconnect()
            await asyncio.sleep(self._retry_seconds)

    def _tracking_connection(self) -> AbstractConnection:
        # Its own connection, outside the pool: RESP3 (notices come on it), no read timeout (it
        # waits for notices), no health check or retry of its own (its pings are the check).
        pool = self._client.connection_pool
        return pool.connection_class(
            **{
                **pool.connection_kwargs,
                "protocol": 3,
                "socket_timeout": None,
                "health_check_interval": 0,
                "retry": Retry(NoBackoff(), 0),
            }
        )

    async def _listen(self, connection: AbstractConnection) -> None:
        await connection.connect()
        self._unread = unread_check(connection)
        # Called by redis-py's parser with each notice, as it reads it.
        connection._parser.set_invalidation_push_handler(self._on_notice)
        # Every key: a prefix would let a new resource's keys go untracked, and the only other
        # writes (rate-limit refills) are rare.
        await connection.send_command("CLIENT", "TRACKING", "ON", "BCAST")
        if await connection.read_response(timeout=self._stale_seconds) != b"OK":
            raise RedisError("CLIENT TRACKING was refused")
        self._forget_all()  # whatever changed while tracking was off
        self._tracking, self._heard, self._report_failure = True, time.monotonic(), True
        pings = asyncio.create_task(self._ping(connection))
        try:
            while True:
                await connection.read_response(timeout=math.inf, push_request=True)
                self._heard = time.monotonic()
        finally:
            pings.cancel()

    async def _ping(self, connection: AbstractConnection) -> None:
        """Ping every `ping_seconds`; when no answer came for `stale_seconds`, the connection is
        dead or cut off: drop it (the reader then fails and `track` reconnects)."""
        while True:
            await asyncio.sleep(self._ping_seconds)
            try:
                if time.monotonic() - self._heard > self._stale_seconds:
                    raise TimeoutError("no answer to a ping")
                await connection.send_command("PING")
            except (RedisError, OSError, TimeoutError):
                self._tracking = False
                await connection.disconnect()
                return

    async def _on_notice(self, notice: list[Any]) -> None:
        """["invalidate", the keys that changed], or ["invalidate", None] after FLUSHDB."""
        self._generation += 1
        keys = notice[1]
        if keys is None:
            self._copies.clear()
            return
        for key in keys:
            self._copies.drop(key.decode())

    def _forget_all(self) -> None:
        self._generation += 1
        self._copies.clear()


def unread_check(connection: AbstractConnection) -> Callable[[], bool]:
    """A check, cheap enough for every hit, that `connection` has received bytes that nobody has
    read yet: in asyncio's buffer (which has no public way to see it; redis-py's own `can_read`
    looks the same way) or still in the socket."""
    reader = connection._reader
    writer = connection._writer
    assert reader is not None and writer is not None  # noqa: S101  (connected)
    descriptor = writer.get_extra_info("socket").fileno()

    def unread() -> bool:
        return bool(reader._buffer) or bool(select.select([descriptor], [], [], 0)[0])

    return unread
