"""Cache-aside over a Store: entries filled under leases, keyed by the shape of the model they
hold, grouped under per-owner namespace tokens that a write replaces; invalidations that fail are
replayed (by this worker before its next cached read, and by the job queue once Redis is back)."""

import asyncio
import functools
import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable, Sequence

from pydantic import BaseModel

from app.cache.store import Store
from app.core.config import CacheTTLSeconds, TTLClass
from app.observability import metrics

# Marks a key while one reader loads it; cached JSON never starts with a NUL byte.
LEASE_PREFIX = b"\x00lease:"
# Longer than a load takes (a pool wait of db_pool.timeout_seconds, then the query).
LEASE_SECONDS = 15

# Called with (owner, keys) when Redis did not take an invalidation: it keeps it where it outlives
# this worker (app/cache/replay.py: a job, replayed until Redis takes it).
ReplayLater = Callable[[str, list[str]], Awaitable[None]]


@functools.cache
def shape(model: type[BaseModel]) -> str:
    """A fingerprint of `model`'s JSON schemas, computed once per process. Every key that holds a
    `model` carries it, so code whose model changed (a deploy that adds a field) never reads what
    the code before it cached: the old entries are simply not found, and expire on their own.

    Both schemas: what is read (validation) and what is written out (serialization), where
    computed fields, excluded fields and serializers' types show; the field names alone stay the
    same through such a change."""
    schemas = {mode: model.model_json_schema(mode=mode) for mode in ("validation", "serialization")}
    return hashlib.sha256(json.dumps(schemas, sort_keys=True).encode()).hexdigest()[:12]


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
    An invalidation that fails (Redis down or stalled) is replayed twice over: by this worker
    before its next cached read (which reads nothing of that owner's from the cache until the
    replay succeeds), and by `replay_later` (a job, kept in the database), for the other workers
    and for whatever process starts after this one, which never knew of it.

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
        replay_later: ReplayLater | None = None,
        recent_write_seconds: int | None = None,
    ) -> None:
        self.store = store
        # How long `wrote_recently` remembers an owner's write (None: not at all, no replica).
        self.recent_write_seconds = recent_write_seconds
        self.ttl_seconds = ttl_seconds
        self.enabled = enabled
        self._record_prefix = f"user:{shape(owner_record)}" if owner_record else "user"
        self._pending_owners: set[str] = set()
        self._pending_keys: set[str] = set()
        self._replay_later = replay_later
        self._invalidating: set[asyncio.Task[None]] = set()

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
        if not self.enabled or key in self._pending_keys:
            # Still pending (Redis takes no writes): what it holds may be what a write replaced.
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

    async def owner(self, owner: object) -> tuple[str, bytes | None]:
        """What a signed-in request reads before anything else, in one read: the owner's namespace
        and their cached record (None when not cached, and always with the cache off)."""
        if not self.enabled:
            return await self._namespace(owner, None), None
        record_key = self._record_key(owner)
        token, record = await self.store.get_many([f"ns:{owner}", record_key])
        namespace = await self._namespace(owner, token)
        if record_key in self._pending_keys:
            record = None  # changed by a write whose invalidation is still pending
        return namespace, self.counted("user", record)

    async def owner_hit(
        self, owner: object, key_under: Callable[[str], str]
    ) -> tuple[bytes, bytes] | None:
        """(the owner's cached record, the entry at `key_under(namespace)`) when both are cached;
        None otherwise, and while any invalidation is pending (the owner's own read handles that).
        Reads only: it stores no token and counts nothing (`counted` does, once a hit is served)."""
        if not self.enabled or self._pending_owners or self._pending_keys:
            return None
        token, record = await self.store.get_many([f"ns:{owner}", self._record_key(owner)])
        if token is None or record is None:
            return None
        value = await self.store.get(key_under(self._under_token(owner, token)))
        if value is None or value.startswith(LEASE_PREFIX):
            return None
        return record, value

    async def set_owner_record(self, owner: object, record: bytes) -> None:
        await self.set(self._record_key(owner), record, "low_change")

    async def forget_owner_record(self, owner: object) -> None:
        """Call after a change to the owner's own record commits (password, email, sign-out)."""
        await self.invalidate(owner, self._record_key(owner))

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
            if str(owner) in self._pending_owners:
                # Not replayed yet: the entries under the token may be what the write replaced,
                # so this request gets a namespace of its own, found nowhere in the cache.
                return f"{owner}:{secrets.token_hex(8)}"
            token = await self.store.get(key)
        if token is None:
            token = secrets.token_hex(8).encode()
            if not await self.store.set(key, token, self.ttl("low_change"), if_absent=True):
                token = await self.store.get(key) or token
        return self._under_token(owner, token)

    def _record_key(self, owner: object) -> str:
        return f"{self._record_prefix}:{owner}"

    @staticmethod
    def _under_token(owner: object, token: bytes) -> str:
        """The namespace of `owner`'s entries under the token read from `ns:<owner>`."""
        return f"{owner}:{token.decode()}"

    async def invalidate(self, owner: object, *keys: str) -> None:
        """Call after a write commits: `owner`'s namespaced entries are gone, and so are `keys`
        (the entries of the items it changed)."""
        if self.recent_write_seconds is not None:
            # Before the response: the writer's next read is already kept off the replica.
            await self.store.set(f"wrote:{owner}", b"1", self.recent_write_seconds)
        if not self.enabled:
            return
        # Carried through even when the request is cancelled (its client left): the write is in.
        invalidating = asyncio.create_task(self._invalidate(str(owner), keys))
        self._invalidating.add(invalidating)  # the loop keeps only a weak reference
        invalidating.add_done_callback(self._invalidating.discard)
        await asyncio.shield(invalidating)

    async def _invalidate(self, name: str, keys: Sequence[str]) -> None:
        lost = not await self._replace_token(name)
        if lost:
            self._pending_owners.add(name)
        for key in keys:
            if not await self.store.delete(key):
                self._pending_keys.add(key)
                lost = True
        if lost and self._replay_later is not None:
            await self._replay_later(name, list(keys))

    async def wrote_recently(self, owner: object) -> bool:
        """Whether `owner` wrote within `recent_write_seconds` (their reads then stay on the
        primary, which has the write; the replica may not yet)."""
        return await self.store.get(f"wrote:{owner}") is not None

    async def replay(self, owner: str, keys: Sequence[str]) -> bool:
        """Do a lost invalidation again (`replay_later`'s job): True once Redis took all of it."""
        replayed = await self._replace_token(owner)
        for key in keys:
            replayed = await self.store.delete(key) and replayed
        return replayed

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
