"""The key-value store the cache and the rate limiter share, and its in-process implementation
(`make dev`, one worker); Redis's is redis_store.py."""

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

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
