"""Overload behaviour, per worker process: requests beyond a cap are refused at once with 503 +
Retry-After (instead of queueing until every client times out), and a request whose client has
gone away stops where it is (instead of still taking a database connection for nobody).

uvicorn's own --limit-concurrency is not used: it counts open connections, so a few hundred idle
keep-alive connections would make it refuse every request.
"""

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics
from app.core.middleware import PROBE_PATHS

BUSY = "The server is busy; retry shortly."


def unavailable(detail: str, retry_after: int) -> JSONResponse:
    """503 with Retry-After: every answer the API gives when it cannot serve a request now."""
    return JSONResponse(
        {"detail": detail}, status_code=503, headers={"Retry-After": str(retry_after)}
    )


class ShedOverloadMiddleware:
    """At most `max_in_flight` requests at once in this worker; the next ones get 503 at once."""

    def __init__(self, app: ASGIApp, *, max_in_flight: int, retry_after: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.busy = unavailable(BUSY, retry_after)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Probes are never shed: an overloaded worker is alive, and its metrics matter most.
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            metrics.REQUESTS_SHED.inc()
            await self.busy(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class CancelOnDisconnectMiddleware:
    """Cancels the request's work when its client disconnects before the response is complete.

    A listener task reads the client's messages and hands the request body on to the app, so
    that it hears `http.disconnect` while the app is busy elsewhere (waiting for a database
    connection, say). Work after the response is complete (background tasks) is never cancelled.
    Plain asyncio tasks (uvicorn runs on asyncio): anyio's task groups cost several times more
    per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        served = asyncio.current_task()
        assert served is not None  # noqa: S101  (an ASGI app always runs in a task)
        # One message of room: a GET's only (empty) body message waits there for an app that may
        # never read it, while the listener goes on listening for the disconnect.
        inbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        responded = left = False

        async def listen() -> None:
            nonlocal left
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    if not responded:
                        left = True
                        served.cancel()
                    return
                await inbox.put(message)  # at the app's pace, not the client's

        async def send_and_note(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                responded = True
            await send(message)

        listener = asyncio.create_task(listen())
        try:
            await self.app(scope, inbox.get, send_and_note)
        except asyncio.CancelledError:
            if not left:
                raise  # the server is shutting down: not ours to swallow
        finally:
            listener.cancel()
            if left:
                served.uncancel()
