"""The cache's invalidation holds when Redis drops out between a write and the next read, and
when a read races a write."""

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import BaseModel, Field, computed_field, field_serializer

from app.cache import Cache, MemoryStore, shape
from app.core.config import CacheTTLSeconds

pytestmark = pytest.mark.anyio


class FlakyStore(MemoryStore):
    """A store that can be switched off, as Redis is when it fails (writes are lost)."""

    def __init__(self) -> None:
        super().__init__(max_entries=100)
        self.down = False

    async def get(self, key: str) -> bytes | None:
        return None if self.down else await super().get(key)

    async def set(self, key: str, value: bytes, ttl: int, *, if_absent: bool = False) -> bool:
        return False if self.down else await super().set(key, value, ttl, if_absent=if_absent)

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: int) -> bool:
        return False if self.down else await super().replace(key, expected, value, ttl)

    async def delete(self, key: str) -> bool:
        return False if self.down else await super().delete(key)


def loader(value: bytes, during: Callable[[], Awaitable[None]] | None = None) -> Any:
    async def load() -> bytes:
        if during:
            await during()  # what happens while the database is read
        return value

    return load


async def list_cached_then_invalidation_lost() -> tuple[FlakyStore, Cache]:
    """An owner's list is cached; a write commits, but Redis does not hear of it."""
    store = FlakyStore()
    cache = Cache(store, CacheTTLSeconds())
    namespace = await cache.namespace("owner")
    await cache.set(f"{namespace}:list", b"old", "high_change")
    store.down = True
    await cache.invalidate("owner")
    store.down = False
    return store, cache


async def test_an_invalidation_lost_to_an_outage_is_replayed() -> None:
    store, cache = await list_cached_then_invalidation_lost()
    assert await store.get(f"{await cache.namespace('owner')}:list") is None


async def test_a_token_read_before_the_replay_is_not_used() -> None:
    store, cache = await list_cached_then_invalidation_lost()
    # A signed-in request reads the token with the owner's record, before the replay.
    namespace, _ = await cache.owner("owner")
    assert await store.get(f"{namespace}:list") is None


async def test_an_item_invalidation_lost_to_an_outage_is_replayed() -> None:
    store = FlakyStore()
    cache = Cache(store, CacheTTLSeconds())
    await cache.read("item:owner:1", "test", "medium_change", loader(b"old"))

    store.down = True
    await cache.invalidate("owner", "item:owner:1")
    store.down = False

    await cache.namespace("owner")  # any cached read of this worker replays it first
    assert await store.get("item:owner:1") is None


async def test_a_read_racing_a_write_does_not_store_what_the_write_replaced() -> None:
    cache = Cache(MemoryStore(max_entries=10), CacheTTLSeconds())

    async def write_commits() -> None:
        await cache.invalidate("owner", "item:owner:1")

    value, hit = await cache.read(
        "item:owner:1", "test", "medium_change", loader(b"old", during=write_commits)
    )
    assert (value, hit) == (b"old", False)  # this reader saw the row before the write
    # ...but did not cache it: the next reader loads what the write left.
    assert await cache.read("item:owner:1", "test", "medium_change", loader(b"new")) == (
        b"new",
        False,
    )
    assert await cache.read("item:owner:1", "test", "medium_change", loader(b"unused")) == (
        b"new",
        True,
    )


async def test_memory_store_evicts_the_least_recently_used() -> None:
    store = MemoryStore(max_entries=2)
    await store.set("a", b"1", 60)
    await store.set("b", b"2", 60)
    await store.get("a")
    await store.set("c", b"3", 60)
    assert [await store.get(key) for key in "abc"] == [b"1", None, b"3"]


async def test_memory_store_counters_expire_with_their_window() -> None:
    clock = [1000.0]
    store = MemoryStore(max_entries=10, clock=lambda: clock[0])
    assert [await store.incr("k", 60) for _ in range(2)] == [(1, 60), (2, 60)]
    clock[0] += 45
    assert await store.incr("k", 60, 10) == (12, 15)
    clock[0] += 16
    assert await store.incr("k", 60) == (1, 60)


async def test_memory_store_evicts_past_its_byte_budget() -> None:
    store = MemoryStore(max_entries=10, max_bytes=10)
    await store.set("a", b"12345", 60)
    await store.set("b", b"12345", 60)
    await store.set("b", b"123", 60)  # replacing an entry frees its old size
    await store.set("c", b"12", 60)
    assert await store.get_many(["a", "b", "c"]) == [b"12345", b"123", b"12"]
    await store.set("d", b"1234", 60)
    assert await store.get_many(["a", "b", "c", "d"]) == [None, b"123", b"12", b"1234"]


@pytest.mark.parametrize("power", [10, 20, 30])
async def test_a_new_windows_seconds_left_are_exact_whatever_the_clock_reads(power: int) -> None:
    # time.monotonic() just below a power of two: now + 60 rounds, and ceil(expires - now) was 61.
    now = math.nextafter(2.0**power, 0)
    store = MemoryStore(max_entries=10, clock=lambda: now)
    assert await store.incr("k", 60) == (1, 60)


def released(change: str) -> type[BaseModel]:
    """One release's ItemPublic: the same name and field names in each, serialised differently."""
    if change == "computed field":

        class ItemPublic(BaseModel):
            title: str
            notes: str = ""

            @computed_field  # type: ignore[prop-decorator]
            @property
            def summary(self) -> str:
                return self.title[:10]

    elif change == "excluded field":

        class ItemPublic(BaseModel):  # type: ignore[no-redef]
            title: str
            notes: str = Field(default="", exclude=True)

    elif change == "serializer":

        class ItemPublic(BaseModel):  # type: ignore[no-redef]
            title: str
            notes: str = ""

            @field_serializer("notes")
            def _notes(self, notes: str) -> list[str]:
                return notes.splitlines()

    else:

        class ItemPublic(BaseModel):  # type: ignore[no-redef]
            title: str
            notes: str = ""

    return ItemPublic


@pytest.mark.parametrize("change", ["computed field", "excluded field", "serializer"])
def test_a_model_serialised_differently_has_another_shape(change: str) -> None:
    """A release that changes what a model writes out, not its fields, must not read the entries
    the release before it cached."""
    assert shape(released("before")) == shape(released("before"))
    assert shape(released(change)) != shape(released("before"))
