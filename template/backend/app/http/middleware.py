"""Pure ASGI middleware: request ids (asgi-correlation-id); security headers, the last-resort 500,
access logs and metrics in one layer."""

import logging
import re
import secrets
import time
from functools import lru_cache

import sentry_sdk
from asgi_correlation_id import CorrelationIdMiddleware
from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
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


class RequestIdMiddleware(CorrelationIdMiddleware):
    """Gives every request an id: the X-Request-ID header of the request and its answer, and of its
    logs. Sentry's tag for it only where Sentry reports (SENTRY_DSN): without that, the tag would
    make a new Sentry scope on every request for nothing."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(
            app,
            header_name="X-Request-ID",
            generator=lambda: secrets.token_hex(16),  # as uuid4().hex, without making a UUID
            validator=lambda value: bool(_REQUEST_ID.match(value)),
        )
        if not sentry_sdk.is_initialized():
            self.sentry_extension = lambda _: None


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
    """What every HTTP answer gets, in one layer (each ASGI layer costs CPU on every request):
    security headers, a JSON 500 for an exception no handler took (logged with its traceback, and
    so with the request id), then the timing, the count by route template (never by raw path, so
    ids in URLs do not multiply the series) and the access log line. A response that sets its own
    security header (a page that needs a different Content-Security-Policy, say) keeps it.

    It sits inside the request id and outside CORS, so a 500 carries the id and the security
    headers, which Starlette's own 500, sent outside every middleware, would miss."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = [
            ("Content-Security-Policy", API_CSP),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            ("X-Frame-Options", "DENY"),
            *([("Strict-Transport-Security", HSTS)] if hsts else []),
        ]
        self.docs_headers = [(name, DOCS_CSP if name == "Content-Security-Policy" else value)
                             for name, value in self.headers]  # fmt: skip
        self.internal_error = JSONResponse({"detail": "Internal server error"}, status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        security = self.docs_headers if scope["path"] in DOCS_PATHS else self.headers

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in security:
                    headers.setdefault(name, value)
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

    @staticmethod
    def record(scope: Scope, status: int, duration: float) -> None:
        route = route_template(scope)
        method = scope["method"]
        count, timing = request_series(method, route, status)
        count.inc()
        timing.observe(duration)
        quiet = scope["path"] in PROBE_PATHS and status < 400
        access_log.log(
            logging.DEBUG if quiet else logging.INFO,
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


# labels() finds its series under a lock on every call: each one is looked up once here. Bounded,
# as a client may send any method.
@lru_cache(maxsize=1024)
def request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The request counter's and the duration histogram's series for one kind of request."""
    return (
        metrics.REQUESTS.labels(method, route, str(status)),
        metrics.REQUEST_DURATION.labels(method, route),
    )


class TrustedHostsMiddleware(TrustedHostMiddleware):
    """Starlette's Host check (400 for any other host name, before the app builds a URL from it,
    such as a Location), except on the probe paths: Kubernetes and Docker probe by address."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
