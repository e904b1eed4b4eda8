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

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import RequestLimits
from app.http.middleware import PROBE_PATHS
from app.observability import metrics

BUSY = "The server is busy; retry shortly."
# A request that has run this long has its client watched for a disconnect (OverloadMiddleware).
LISTEN_AFTER_SECONDS = 0.1


def unavailable(detail: str, retry_after: int) -> JSONResponse:
    """503 with Retry-After: every answer the API gives when it cannot serve a request now."""
    return JSONResponse(
        {"detail": detail}, status_code=503, headers={"Retry-After": str(retry_after)}
    )


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


class OverloadMiddleware:
    """One layer (each costs CPU on every request) that admits a request or refuses it at once.

    - It refuses what no client of this API sends, before the request takes a slot: headers over
      `limits.max_header_bytes` (431), a body over `limits.max_body_bytes` (413) or not complete
      within `limits.body_timeout_seconds` (408), JSON with a lone surrogate (422). Bodies are
      small, so the whole body is read here and handed on in one piece: a client that sends slowly
      waits here, holding no slot, and for a bounded time.
    - At most `max_in_flight` requests at once in this worker; the next ones get 503 at once.
      Probes are never shed: an overloaded worker is alive, and its metrics matter most.
    - A request whose client disconnects before its response is complete is cancelled where it is
      (waiting for a database connection, say). Its client is watched only once the request has
      run LISTEN_AFTER_SECONDS: most answer sooner, and a watcher task for each would cost more
      than the little work it could save. Work after the response (background tasks) is never
      cancelled.
    """

    def __init__(
        self, app: ASGIApp, *, limits: RequestLimits, max_in_flight: int, retry_after: int
    ) -> None:
        self.app = app
        self.limits = limits
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.busy = unavailable(BUSY, retry_after)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal, body = await self._checked(scope, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if scope["path"] in PROBE_PATHS:
            await self._served(scope, body, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            metrics.REQUESTS_SHED.inc()
            await self.busy(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self._served(scope, body, receive, send)
        finally:
            self.in_flight -= 1

    async def _checked(self, scope: Scope, receive: Receive) -> tuple[ASGIApp | None, bytes]:
        """(None, the whole body), or (the refusal to send, b"")."""
        # One pass over the headers: their size, the declared length, whether a body is chunked.
        header_bytes = 0
        declared = ""
        chunked = False
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value)
            if name == b"content-length" and not declared:
                declared = value.decode("latin-1")
            elif name == b"transfer-encoding":
                chunked = True
        if header_bytes > self.limits.max_header_bytes:
            return refused(431, "Request headers too large."), b""
        if declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            return refused(413, "Request body too large."), b""
        try:
            if declared in ("", "0") and not chunked:
                # No body: its one empty message is there already, and a timer costs CPU.
                body = await self._read_body(receive)
            else:
                async with asyncio.timeout(self.limits.body_timeout_seconds):
                    body = await self._read_body(receive)
        except TimeoutError:
            return refused(408, "The request body did not arrive in time."), b""
        except BodyTooLarge:
            return refused(413, "Request body too large."), b""
        if body is None:
            return client_left, b""
        if holds_lone_surrogate(body):
            return JSONResponse({"detail": [LONE_SURROGATE]}, status_code=422), b""
        return None, body

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

    async def _served(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        """The app, given `body` and then the client's later messages, cancelled if the client
        leaves before the response is complete."""
        served = asyncio.current_task()
        assert served is not None  # noqa: S101  (an ASGI app always runs in a task)
        loop = asyncio.get_running_loop()
        replayed = responded = left = False
        listener: asyncio.Task[None] | None = None

        async def receive_body() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send_and_note(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                responded = True
            await send(message)

        async def listen() -> None:
            nonlocal left
            # The body is read: the only message left to come is the disconnect.
            while (await receive())["type"] != "http.disconnect":
                pass
            if not responded:
                left = True
                served.cancel()

        def watch() -> None:
            nonlocal listener
            listener = loop.create_task(listen())

        watching = loop.call_later(LISTEN_AFTER_SECONDS, watch)
        try:
            await self.app(scope, receive_body, send_and_note)
        except asyncio.CancelledError:
            if not left:
                raise  # the server is shutting down: not ours to swallow
        finally:
            watching.cancel()
            if listener is not None:
                listener.cancel()
            if left:
                served.uncancel()
