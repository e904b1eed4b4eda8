"""Caching is declared per route (app/core/cache/routes.py): a write route in a router with cached
reads must declare that it invalidates what they cache, or their entries outlive the write."""

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

import app.api.routes
from app.core.cache import Cache, Cached, CachedRead, Invalidates

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def dependencies(dependant: Dependant) -> Iterator[object]:
    """Every dependency of a route, however deeply nested."""
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from dependencies(dependency)


def routers() -> Iterator[APIRouter]:
    """The routers of every module in app/api/routes/, a founder's new ones included."""
    for module in pkgutil.iter_modules(app.api.routes.__path__):
        routes_module = importlib.import_module(f"{app.api.routes.__name__}.{module.name}")
        yield from (value for value in vars(routes_module).values() if isinstance(value, APIRouter))


def forgotten_invalidations(router: APIRouter) -> list[str]:
    """The write routes of `router` that do not declare invalidating everything it caches."""
    routes = [route for route in router.routes if isinstance(route, APIRoute)]
    cached = {
        call.resource
        for route in routes
        for call in dependencies(route.dependant)
        if isinstance(call, Cached)
    }
    forgotten = []
    for route in routes:
        if route.methods & WRITE_METHODS:
            invalidated = {
                resource
                for call in dependencies(route.dependant)
                if isinstance(call, Invalidates)
                for resource in call.resources
            }
            if missing := cached - invalidated:
                forgotten.append(f"{sorted(route.methods)} {route.path} leaves {sorted(missing)}")
    return forgotten


def test_every_write_beside_a_cached_read_invalidates_what_the_read_caches() -> None:
    assert [problem for router in routers() for problem in forgotten_invalidations(router)] == []


def test_a_write_that_forgets_its_invalidation_is_found() -> None:
    router = APIRouter()

    @router.get("/notes")
    async def list_notes(cache: Annotated[CachedRead, Depends(Cached("notes", "high_change"))]):
        return []

    @router.post("/notes")
    async def add_note() -> None:
        return None

    @router.delete("/notes")
    async def clear_notes(cache: Annotated[Cache, Depends(Invalidates("notes"))]) -> None:
        return None

    assert forgotten_invalidations(router) == ["['POST'] /notes leaves ['notes']"]
