"""The key-value store the cache and the rate limiter share, and its in-process implementation
(`make dev`, one worker, and each worker's copies of Redis entries); Redis's is redis_store.py."""

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

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values at `keys`, in one round trip."""

    async def set(self, key: str, value: bytes, ttl: int, *, if_absent: bool = False) -> bool:
        """Store `value` for `ttl` seconds; with `if_absent`, only when `key` is not there yet."""

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: int) -> bool:
        """Store `value` for `ttl` seconds only if `key` still holds `expected`."""

    async def delete(self, key: str) -> bool:
        """Remove `key`; False only when that could not be done (Redis down)."""

    async def incr(self, key: str, ttl: int, amount: int = 1) -> Counted:
        """Add `amount` to a counter that starts at its first increment and lives `ttl` seconds."""


class MemoryStore:
    """The in-process store: one per process, so only right for a single worker (`make dev`) or
    for copies that something else keeps up to date (see tracking.py). At most `max_entries`
    entries and `max_bytes` bytes of values: the least recently used go first."""

    def __init__(
        self,
        max_entries: int,
        max_bytes: int = 2**62,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes | Window]] = OrderedDict()

    def _live(self, key: str) -> bytes | Window | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at <= self._clock():
            self.drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    def _put(self, key: str, value: bytes | Window, expires_at: float) -> None:
        self.drop(key)
        self._entries[key] = (expires_at, value)
        self._bytes += _size(value)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= _size(evicted)

    def drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= _size(entry[1])

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def put(self, key: str, value: bytes, ttl: float) -> None:
        self._put(key, value, self._clock() + ttl)

    def peek(self, key: str) -> bytes | None:
        """`get` without awaiting: for callers that must not yield to the event loop."""
        value = self._live(key)
        return value if isinstance(value, bytes) else None

    async def get(self, key: str) -> bytes | None:
        return self.peek(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self.peek(key) for key in keys]

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
        self.drop(key)
        return True

    async def incr(self, key: str, ttl: int, amount: int = 1) -> Counted:
        value = self._live(key)
        now = self._clock()
        count, opened = value if isinstance(value, tuple) else (0, now)
        self._put(key, (count + amount, opened), opened + ttl)
        # From the time elapsed, which is exact (two nearby floats subtract without rounding);
        # ceil(expires_at - now) is not: opened + ttl rounds, and can make 60 s read as 61.
        left = ttl - math.floor(now - opened)
        return count + amount, left


def _size(value: bytes | Window) -> int:
    return len(value) if isinstance(value, bytes) else 0
