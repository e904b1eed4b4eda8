"""Pure ASGI middleware: request ids, security headers, the last-resort 500, access logs and
metrics in one layer; CORS only for requests with an Origin; the Host check."""

import logging
import re
import secrets
import time
from collections.abc import Iterable
from functools import lru_cache

import sentry_sdk
from asgi_correlation_id import correlation_id
from asgi_correlation_id.extensions.sentry import get_sentry_extension
from prometheus_client import Counter, Histogram
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.api_docs import DOCS_CSP, DOCS_PATHS
from app.http.security_headers import HSTS
from app.observability import metrics

access_log = logging.getLogger("app.access")
logger = logging.getLogger(__name__)

# A caller's X-Request-ID (a proxy's, a client's) is kept when it looks like an id; else a new one.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Probes and scrapes: counted in the metrics, but kept out of the access log unless they fail
# (and never shed, see overload.py).
PROBE_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})
# nginx's status for a request whose client closed the connection before the answer.
CLIENT_CLOSED_REQUEST = 499
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def route_template(scope: Scope) -> str:
    """The matched route's path template, such as /api/v1/items/{item_id}.

    Rebuilt from the request path and its path parameters (each value put back as its {name},
    last occurrence first), which holds however deeply routers are included: FastAPI nests included
    routers, so `scope["route"].path_format` lacks their prefixes (/items/{item_id}). "<unmatched>"
    when no route matched, so unknown URLs never become new series.
    """
    if "endpoint" not in scope and "route" not in scope:
        return "<unmatched>"
    path: str = scope["path"]
    params = {name: str(value) for name, value in (scope.get("path_params") or {}).items()}
    for name, value in sorted(params.items(), key=lambda param: -len(param[1])):
        matches = list(re.finditer(f"/{re.escape(value)}(?=/|$)", path)) if value else []
        if matches:
            path = f"{path[: matches[-1].start()]}/{{{name}}}{path[matches[-1].end() :]}"
    return path


class ResponseMiddleware:
    """What every HTTP answer gets, in one layer (each ASGI layer costs CPU on every request): its
    request id, security headers, a JSON 500 for an exception no handler took (logged with its
    traceback, and so with the request id), then the timing, the count by route template (never by
    raw path, so ids in URLs do not multiply the series) and the access log line. A response that
    sets its own security header (a page that needs a different Content-Security-Policy, say)
    keeps it.

    The request id: a caller's X-Request-ID (a proxy's, a client's) when it looks like an id, else a
    new one; it is the X-Request-ID of the request and of its answer, and tags every log line of
    the request (asgi-correlation-id's context variable, which the logs and the audit trail read),
    and Sentry's events where Sentry reports (SENTRY_DSN).

    Outermost but for the server's own, so a 500 carries the id and the security headers, which
    Starlette's own 500, sent outside every middleware, would miss. A request without an Origin
    skips CORS (OriginCors) and gets CORS's one header for it here: Vary: Origin."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        security = [
            ("content-security-policy", API_CSP),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
            ("x-frame-options", "DENY"),
            *([("strict-transport-security", HSTS)] if hsts else []),
        ]
        self.headers = [(name.encode(), value.encode()) for name, value in security]
        self.docs_headers = [
            (name, DOCS_CSP.encode() if name == b"content-security-policy" else value)
            for name, value in self.headers
        ]
        self.internal_error = JSONResponse({"detail": "Internal server error"}, status_code=500)
        # Without Sentry, tagging its scope on every request would only cost.
        self.tag_sentry = get_sentry_extension() if sentry_sdk.is_initialized() else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        request_id, has_origin = self.request_id(scope)
        security = self.docs_headers if scope["path"] in DOCS_PATHS else self.headers

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = with_headers(message.get("headers", ()), security, request_id,
                                                  vary_origin=not has_origin)  # fmt: skip
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
            # Returned without answering: the client left and its work was cancelled.
            status = status or CLIENT_CLOSED_REQUEST
        except Exception:
            logger.exception("Unhandled error in %s %s", scope["method"], scope["path"])
            if not status:  # else the client gets a cut-off answer: nothing more to send
                await self.internal_error(scope, receive, send_with_headers)
        finally:
            status = status or 500  # cancelled before any response
            self.record(scope, status, time.perf_counter() - started)

    def request_id(self, scope: Scope) -> tuple[str, bool]:
        """This request's id (set where the logs read it, and in its X-Request-ID header), and
        whether the request has an Origin header (one pass over the headers finds both)."""
        given = None
        has_origin = False
        for name, value in scope["headers"]:
            if name == b"x-request-id" and given is None:
                given = value.decode("latin-1")
            elif name == b"origin":
                has_origin = True
        request_id = given if given and _REQUEST_ID.match(given) else secrets.token_hex(16)
        if given and request_id != given:
            logger.warning("Replaced an X-Request-ID that is not an id with %s", request_id)
        if request_id != given:
            headers = [(n, v) for n, v in scope["headers"] if n != b"x-request-id"]
            scope["headers"] = [*headers, (b"x-request-id", request_id.encode())]
        correlation_id.set(request_id)
        if self.tag_sentry is not None:
            self.tag_sentry(request_id)
        return request_id, has_origin

    @staticmethod
    def record(scope: Scope, status: int, duration: float) -> None:
        route = route_template(scope)
        method = scope["method"]
        count, timing = request_series(method, route, status)
        count.inc()
        timing.observe(duration)
        quiet = scope["path"] in PROBE_PATHS and status < 400
        level = logging.DEBUG if quiet else logging.INFO
        if not access_log.isEnabledFor(level):
            return
        access_log.log(
            level,
            "%s %s %s",
            method,
            scope["path"],
            status,
            extra={
                "method": method,
                "path": scope["path"],
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "client": (scope.get("client") or ("", 0))[0],
            },
        )


def with_headers(
    headers: Iterable[tuple[bytes, bytes]],
    security: list[tuple[bytes, bytes]],
    request_id: str,
    *,
    vary_origin: bool,
) -> list[tuple[bytes, bytes]]:
    """An answer's raw headers with each security header it does not set itself, the request id,
    and (`vary_origin`) Origin in its Vary, as CORS would add it. One pass over the list."""
    raw = list(headers)
    present = {name.lower() for name, _ in raw}
    raw.extend(header for header in security if header[0] not in present)
    if vary_origin:
        if b"vary" in present:
            varies = b", ".join([value for name, value in raw if name.lower() == b"vary"])
            raw = [(name, value) for name, value in raw if name.lower() != b"vary"]
            raw.append((b"vary", varies + b", Origin"))
        else:
            raw.append((b"vary", b"Origin"))
    raw.append((b"x-request-id", request_id.encode()))
    return raw


# labels() finds its series under a lock on every call: each one is looked up once here. Bounded,
# as a client may send any method.
@lru_cache(maxsize=1024)
def request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The request counter's and the duration histogram's series for one kind of request."""
    return (
        metrics.REQUESTS.labels(method, route, str(status)),
        metrics.REQUEST_DURATION.labels(method, route),
    )


class OriginCors(CORSMiddleware):
    """Starlette's CORS for requests that carry an Origin. Without one, all it would do is add
    Vary: Origin, which ResponseMiddleware does without another layer's pass over the answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and all(name != b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class TrustedHostsMiddleware(TrustedHostMiddleware):
    """Starlette's Host check (400 for any other host name, before the app builds a URL from it,
    such as a Location), except on the probe paths: Kubernetes and Docker probe by address."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
