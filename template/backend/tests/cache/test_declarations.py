"""Caching is declared per route (app/cache/declarations.py): a write route beside cached reads
must declare that it changes what they cache, or their entries outlive the write. Read from the
app's own route table, so a founder's new resource is covered the day it is added."""

import uuid
from collections import defaultdict

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel

from app.cache import Declaration, MemoryStore, cached, invalidates
from app.cache.aside import Cache
from app.core.config import CacheTTLSeconds
from app.routes import ROUTERS
from tests.utils import solved

pytestmark = pytest.mark.anyio

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def forgotten_invalidations(routes: list[APIRoute]) -> list[str]:
    """The write routes that do not declare invalidating every cached read beside them (the reads
    of the same resource, its path less the parameters at its end: /items and /items/{item_id};
    /shops/{shop_id}/notes and /shops/{shop_id}/notes/{note_id})."""
    by_resource: defaultdict[str, list[APIRoute]] = defaultdict(list)
    for route in routes:
        segments = route.path.strip("/").split("/")
        while len(segments) > 1 and segments[-1].startswith("{"):
            segments.pop()
        by_resource["/".join(segments)].append(route)
    forgotten = []
    for group in by_resource.values():
        cached_here = {
            call.declaration  # type: ignore[attr-defined]
            for route in group
            for call in solved(route.dependant)
            if isinstance(getattr(call, "declaration", None), Declaration)
        }
        for route in group:
            if not route.methods & WRITE_METHODS:
                continue
            declared = {
                declaration
                for call in solved(route.dependant)
                for declaration in getattr(call, "declarations", ())
            }
            if missing := cached_here - declared:
                names = sorted(declaration.resource for declaration in missing)
                forgotten.append(f"{sorted(route.methods)} {route.path} leaves {names}")
    return forgotten


def test_every_write_beside_a_cached_read_declares_what_it_changes() -> None:
    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    declarations = [
        call for route in routes for call in solved(route.dependant)
        if isinstance(getattr(call, "declaration", None), Declaration)
    ]  # fmt: skip
    assert declarations, "no cached read found: this check would pass on anything"
    assert forgotten_invalidations(routes) == []


class Note(BaseModel):
    id: uuid.UUID
    text: str


class Owner(BaseModel):
    id: uuid.UUID
    cache_namespace: str = "owner:token"


OWNER = Owner(id=uuid.uuid4())


async def owner() -> Owner:
    return OWNER


OneNote = cached("note", Note, "medium_change", owner=owner, by="note_id")


def notes_router(*, declare: bool) -> APIRouter:
    """A resource as a founder writes it: a cached read and a write, declared or not."""
    router = APIRouter()
    notes = {uuid.UUID(int=1): "first"}

    @router.get("/notes/{note_id}")
    async def read_note(note_id: uuid.UUID, cache: OneNote):
        async def load() -> Note:
            return Note(id=note_id, text=notes[note_id])

        return await cache.json(load)

    @router.put("/notes/{note_id}", dependencies=[invalidates(OneNote)] if declare else [])
    async def write_note(note_id: uuid.UUID, text: str) -> None:
        notes[note_id] = text

    return router


def test_a_write_that_forgets_its_declaration_is_found() -> None:
    routes = [route for route in notes_router(declare=False).routes if isinstance(route, APIRoute)]
    assert forgotten_invalidations(routes) == ["['PUT'] /notes/{note_id} leaves ['note']"]
    declared = [route for route in notes_router(declare=True).routes if isinstance(route, APIRoute)]
    assert forgotten_invalidations(declared) == []


async def read_after_write(*, declare: bool) -> list[str]:
    """What a client reads of one note: before a write, after it (the second spelled in upper case:
    the same entry), and once more."""
    app = FastAPI()
    app.state.cache = Cache(MemoryStore(max_entries=100), CacheTTLSeconds())
    app.include_router(notes_router(declare=declare))
    note = str(uuid.UUID(int=1))
    texts = []
    async with AsyncClient(transport=ASGITransport(app), base_url="http://test") as client:
        texts.append((await client.get(f"/notes/{note}")).json()["text"])
        written = await client.put(f"/notes/{note.upper()}", params={"text": "second"})
        assert written.status_code == 200
        texts.append((await client.get(f"/notes/{note}")).json()["text"])
    return texts


async def test_the_declaration_is_what_invalidates() -> None:
    assert await read_after_write(declare=True) == ["first", "second"]
    # Without it nothing else does: the read still answers what the write replaced.
    assert await read_after_write(declare=False) == ["first", "first"]
