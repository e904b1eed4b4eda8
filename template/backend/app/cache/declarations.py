"""Caching by declaration: a read route declares what it caches (`cached`), a write route what it
changes (`invalidates`); the keys and the invalidation follow from the declarations, never from
strings a route builds. tests/cache/test_declarations.py fails when a write route beside a cached
read declares nothing.

    ItemsPage = cached("items", ItemsPublic, "high_change", owner=get_current_user)
    OneItem = cached("item", ItemPublic, "medium_change", owner=get_current_user, by="item_id")
    ChangesItems = invalidates(ItemsPage, OneItem)

    @router.get("/{item_id}")
    async def read_item(item_id: uuid.UUID, cache: OneItem, ...) -> Response:
        return await cache.json(load)

    @router.patch("/{item_id}", dependencies=[ChangesItems])
    async def update_item(...): ...  # commits; the invalidation runs once it returns

A cached read's body is `return await cache.json(load)` and nothing else: the signed-in user's
pages are answered before routing when cached (app/accounts/cached_hits.py), where nothing written
before that call runs. Checks go in dependencies.
"""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response

from app.cache.aside import Cache, shape
from app.core.config import TTLClass


class Owner(Protocol):
    """Whose entries a request reads and changes (the signed-in user). A write of theirs replaces
    their namespace, so every entry under it (all pages of a list) goes at once."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def cache_namespace(self) -> str: ...


@dataclass(frozen=True, eq=False)
class Declaration:
    """What a read route caches: `resource` (the key's prefix and the metrics label) holding a
    `model`, for the tier's `ttl_class` TTL, belonging to `owner` (a route dependency). Without
    `by`, an entry per query (a page) lives under the owner's namespace, which any write of theirs
    replaces; with `by` (a path parameter), an entry per value (one item), which only the writes
    that name it invalidate, so it stays cached while other items change."""

    resource: str
    model: type[BaseModel]
    ttl_class: TTLClass
    owner: Callable[..., Any]
    by: str | None = None

    def key(self, owner: Owner, request: Request) -> str | None:
        """This request's entry; None for a write that names no single entry (a create)."""
        if self.by is None:
            return self.page_key(owner.cache_namespace, query=_query(request))
        value = request.path_params.get(self.by)
        if value is None:
            return None
        value = _canonical(request, self.by, value)
        return f"{self.resource}:{shape(self.model)}:{owner.id}:{value}"

    def page_key(self, namespace: str, *, query: str) -> str:
        """The entry of one page (no `by`): `query` as `query_key` writes it."""
        return f"{self.resource}:{shape(self.model)}:{namespace}:{query}"


class CachedRead:
    """What a read route that declared `cached` gets: `json` answers from the cache or `load`."""

    def __init__(self, request: Request, declaration: Declaration, owner: Owner) -> None:
        self.request = request
        self.declaration = declaration
        self.owner = owner

    async def json(self, load: Callable[[], Awaitable[BaseModel]]) -> Response:
        """The cached JSON body, else `load()`'s result, stored for the declared TTL. `X-Cache`
        says which. An exception from `load` (a 404) is never cached."""
        declaration = self.declaration
        # Built here, in the route, where FastAPI has validated the parameters the key holds.
        key = declaration.key(self.owner, self.request)
        if key is None:
            raise LookupError(f"{self.request.url.path} has no {declaration.by!r} to cache by")

        async def body() -> bytes:
            return (await load()).model_dump_json().encode()

        cache: Cache = self.request.app.state.cache
        value, hit = await cache.read(key, declaration.resource, declaration.ttl_class, body)
        return Response(
            value, media_type="application/json", headers={"X-Cache": "HIT" if hit else "MISS"}
        )


def cached(
    resource: str,
    model: type[BaseModel],
    ttl_class: TTLClass,
    *,
    owner: Callable[..., Any],
    by: str | None = None,
) -> Any:
    """A read route's parameter type: `cache: ItemsPage` (see Declaration)."""
    declaration = Declaration(resource, model, ttl_class, owner, by)

    async def read(request: Request, who: Annotated[Owner, Depends(owner)]) -> CachedRead:
        return CachedRead(request, declaration, who)

    read.declaration = declaration  # type: ignore[attr-defined]  (read by invalidates and the tests)
    return Annotated[CachedRead, Depends(read)]


# A refusal (404, 403, 422) wrote nothing, so it invalidates nothing.
REFUSALS = (HTTPException, RequestValidationError)


def invalidates(*reads: Any) -> Any:
    """A write route's declaration, `@router.patch(..., dependencies=[invalidates(...)])`: once the
    route returns (its write committed), every entry of `reads` that the write may have changed is
    gone, in every worker. Also when the client left mid-write: the write may be in."""
    declarations = [declaration_of(read) for read in reads]
    owners = {declaration.owner for declaration in declarations}
    if len(owners) != 1:
        raise ValueError("invalidates(...) takes the reads of one owner")
    (owner,) = owners

    async def invalidate(
        request: Request, who: Annotated[Owner, Depends(owner)]
    ) -> AsyncIterator[None]:
        try:
            yield
        except REFUSALS:
            raise
        except BaseException:
            await _invalidate(request, who, declarations)
            raise
        await _invalidate(request, who, declarations)

    invalidate.declarations = declarations  # type: ignore[attr-defined]  (read by the tests)
    # "function": it finishes before the response is sent, so the writer's next read is fresh.
    return Depends(invalidate, scope="function")


def declaration_of(read: Any) -> Declaration:
    """The Declaration of a `cached(...)` type."""
    for metadata in getattr(read, "__metadata__", ()):
        declaration = getattr(getattr(metadata, "dependency", None), "declaration", None)
        if isinstance(declaration, Declaration):
            return declaration
    raise TypeError(f"{read!r} is not a cached(...) declaration")


async def _invalidate(request: Request, who: Owner, declarations: list[Declaration]) -> None:
    # The owner's new namespace drops their pages; single entries the write names go by key.
    named = [key for d in declarations if d.by and (key := d.key(who, request)) is not None]
    cache: Cache = request.app.state.cache
    await cache.invalidate(who.id, *named)


def _query(request: Request) -> str:
    return query_key(_route_parameters(request).query, request.query_params)


def query_key(names: Iterable[str], params: Mapping[str, str]) -> str:
    """The query parameters the route declares (`names`, sorted), as sent: others never make a
    new entry."""
    return "&".join(f"{name}={params[name]}" for name in names if name in params)


def _canonical(request: Request, name: str, value: str) -> str:
    """A path parameter as its type reads it: an upper-case UUID and a lower-case one name the same
    entry, whether a read or a write spelled it."""
    adapter = _route_parameters(request).path.get(name)
    return str(adapter.validate_python(value)) if adapter else value


@dataclass(frozen=True)
class _RouteParameters:
    query: tuple[str, ...]
    path: dict[str, TypeAdapter[Any]]


# By id(route), with the route itself: routes are unhashable, and an id outlives its route.
_parameters: dict[int, tuple[APIRoute, _RouteParameters]] = {}


def _route_parameters(request: Request) -> _RouteParameters:
    """The route's declared query names and path parameter types, worked out once per route."""
    route: APIRoute = request.scope["route"]
    known = _parameters.get(id(route))
    if known is not None and known[0] is route:
        return known[1]
    query = tuple(sorted({field.alias for field in _all(route.dependant, "query_params")}))
    path = {
        field.alias: TypeAdapter(field.field_info.annotation)
        for field in _all(route.dependant, "path_params")
    }
    found = _RouteParameters(query, path)
    _parameters[id(route)] = (route, found)
    return found


def _all(dependant: Any, kind: str) -> list[Any]:
    return [*getattr(dependant, kind), *(f for d in dependant.dependencies for f in _all(d, kind))]
