"""Overload behaviour, per worker process: requests beyond a cap are refused at once with 503 +
Retry-After (instead of queueing until every client times out), a request whose client has
gone away stops where it is (instead of still taking a database connection for nobody), and a
request larger or slower than any client of this API needs is refused before it takes a slot.

uvicorn's own --limit-concurrency is not used: it counts open connections, so a few hundred idle
keep-alive connections would make it refuse every request.
"""

import asyncio
import json
import re

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import RequestLimits
from app.http.middleware import PROBE_PATHS
from app.observability import metrics

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


# A \uD800-\uDFFF escape: the only way JSON text can spell a lone surrogate.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
LONE_SURROGATE = {
    "type": "string_unicode",
    "loc": ["body"],
    "msg": "Text must be valid Unicode: a lone surrogate (\\ud800-\\udfff) cannot be stored.",
}


def holds_lone_surrogate(body: bytes) -> bool:
    """Whether `body` is JSON with a string no UTF-8 text (no database column) can hold."""
    if not SURROGATE_ESCAPE.search(body):
        return False
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    except ValueError:  # not JSON: the route's own parsing says so
        return False
    return False


class BodyTooLarge(Exception):
    pass


def refused(status_code: int, detail: object) -> JSONResponse:
    # The unread rest of the request would be taken for the next one: close the connection.
    return JSONResponse(
        {"detail": detail}, status_code=status_code, headers={"Connection": "close"}
    )


async def client_left(scope: Scope, receive: Receive, send: Send) -> None:
    """Nothing to answer: the client disconnected before its request was complete."""


class RequestLimitsMiddleware:
    """Refuses what no client of this API sends, before the request takes an in-flight slot:
    headers over `max_header_bytes` (431), a body over `max_body_bytes` (413) or not complete
    within `body_timeout_seconds` (408), JSON with a lone surrogate (422).

    Bodies are small, so the whole body is read here and handed on in one piece: a client that
    sends slowly waits here, holding no slot, and for a bounded time.
    """

    def __init__(self, app: ASGIApp, *, limits: RequestLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = self.app
        if scope["type"] == "http":
            answer, receive = await self._checked(scope, receive)
        await answer(scope, receive, send)

    async def _checked(self, scope: Scope, receive: Receive) -> tuple[ASGIApp, Receive]:
        """(the app, a `receive` that hands it the body read here), or (the refusal to send)."""
        header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
        if header_bytes > self.limits.max_header_bytes:
            return refused(431, "Request headers too large."), receive
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            return refused(413, "Request body too large."), receive
        try:
            async with asyncio.timeout(self.limits.body_timeout_seconds):
                body = await self._read_body(receive)
        except TimeoutError:
            return refused(408, "The request body did not arrive in time."), receive
        except BodyTooLarge:
            return refused(413, "Request body too large."), receive
        if body is None:
            return client_left, receive
        if holds_lone_surrogate(body):
            return JSONResponse({"detail": [LONE_SURROGATE]}, status_code=422), receive
        return self.app, self._replay(body, receive)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None when the client disconnects first."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        """`receive` for the app: the body read here, then the client's later messages."""
        replayed = False

        async def receive_body() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return receive_body
