"""Helpers the tests share: fresh users, metric values, a port nothing listens on, a database
that is starting up."""

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies.models import Dependant
from httpx import AsyncClient, Response
from prometheus_client.parser import text_string_to_metric_families

from app.jobs.queue import deferred, open_queue, worker_options

API = "/api/v1"
PASSWORD = "correct-horse-42"


@dataclass
class Account:
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


async def login(client: AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post(
        f"{API}/auth/login", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def register(client: AsyncClient, password: str = PASSWORD) -> str:
    """Register a new user; their email."""
    email = new_email()
    response = await client.post(
        f"{API}/auth/register", json={"email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    return email


async def signup(client: AsyncClient, password: str = PASSWORD) -> Account:
    """Register a new user and sign them in."""
    email = await register(client, password)
    tokens = await login(client, email, password)
    return Account(email, password, tokens["access_token"], tokens["refresh_token"])


async def run_jobs(client: AsyncClient) -> None:
    """Run the jobs waiting in the queue of the app behind `client` (on PostgreSQL no worker
    runs inside the API; with the SQLite default the API's own worker runs them soon)."""
    app = client._transport.app  # type: ignore[attr-defined]
    settings = app.state.settings
    if settings.is_sqlite:
        await deferred()
        await asyncio.sleep(0.2)
        return
    async with open_queue(settings) as queue:
        options = worker_options(settings, app.state.sessionmaker)
        await queue.run_worker_async(**options, wait=False, install_signal_handlers=False)


def metric(response: Response, name: str, **labels: str) -> float:
    """The sum of the samples called `name` with these labels in a /metrics response."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def closed_port() -> int:
    """A local port with nothing listening (for an unreachable database or Redis)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# PostgreSQL's wire protocol: the codes of the SSL and GSSAPI encryption requests a client may
# send before its startup message, and the error a server sends while it starts up.
ENCRYPTION_REQUESTS = {80877103, 80877104}
STARTING_UP = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0"


@asynccontextmanager
async def database_starting_up() -> AsyncIterator[str]:
    """A PostgreSQL URL whose server answers every connection as PostgreSQL does while it starts
    up (or recovers): SQLSTATE 57P03, "the database system is starting up"."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # refuse encryption requests until the startup message comes
            length = int.from_bytes(await reader.readexactly(4), "big")
            payload = await reader.readexactly(length - 4)
            if int.from_bytes(payload[:4], "big") not in ENCRYPTION_REQUESTS:
                break
            writer.write(b"N")
        writer.write(b"E" + (len(STARTING_UP) + 4).to_bytes(4, "big") + STARTING_UP)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"postgresql+asyncpg://app@127.0.0.1:{port}/app"


Message = dict[str, object]


def request_that_leaves(
    method: str, path: str, access_token: str, json_body: object | None = None
) -> tuple[Message, Callable[[], Awaitable[Message]], asyncio.Event]:
    """An ASGI scope and `receive` for one signed-in request sent straight to the app (the test
    transport cannot disconnect) by a client that goes away once the returned event is set."""
    body = b"" if json_body is None else json.dumps(json_body).encode()
    headers = [(b"host", b"testserver"), (b"authorization", f"Bearer {access_token}".encode())]
    if json_body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    left = asyncio.Event()

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await left.wait()
        return {"type": "http.disconnect"}

    scope: Message = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    return scope, receive, left


def solved(dependant: Dependant) -> list[Callable[..., Any]]:
    """A route's dependencies, however deeply nested, in the order FastAPI solves them (each one's
    own first)."""
    calls: list[Callable[..., Any]] = []
    for dependency in dependant.dependencies:
        calls += solved(dependency)
        if dependency.call is not None:
            calls.append(dependency.call)
    return calls
