"""Caching as a route opts into it: a read declares its resource and TTL class (`Cached`), a write
the resources it invalidates (`Invalidates`). tests/api/test_cache_declarations.py fails when a
write route beside a cached read declares no invalidation."""

from collections.abc import Awaitable, Callable

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from app.core.cache.aside import Cache
from app.core.config import TTLClass


class CachedRead:
    """What a route that declared `Cached` gets: `json` answers from the cache or from `load`."""

    def __init__(self, cache: Cache, resource: str, ttl_class: TTLClass) -> None:
        self.cache = cache
        self.resource = resource
        self.ttl_class = ttl_class

    async def json(self, key: str, load: Callable[[], Awaitable[BaseModel]]) -> Response:
        return await cached_json(
            self.cache, key, resource=self.resource, ttl_class=self.ttl_class, load=load
        )


class Cached:
    """A read route's dependency: `Annotated[CachedRead, Depends(Cached("items", "high_change"))]`
    caches its answers as `resource` (the metrics label) for the tier's `ttl_class` TTL."""

    def __init__(self, resource: str, ttl_class: TTLClass) -> None:
        self.resource = resource
        self.ttl_class = ttl_class

    async def __call__(self, request: Request) -> CachedRead:
        return CachedRead(request.app.state.cache, self.resource, self.ttl_class)


class Invalidates:
    """A write route's dependency: `Annotated[Cache, Depends(Invalidates("items", "item"))]`
    declares the cached resources it changes; the route calls `cache.invalidate` once committed."""

    def __init__(self, *resources: str) -> None:
        self.resources = frozenset(resources)

    async def __call__(self, request: Request) -> Cache:
        return request.app.state.cache


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
