"""Error tracking and traces, each on only when configured, so logs, traces and errors join up.

- Errors: with SENTRY_DSN set, unhandled errors and ERROR logs go to any Sentry-protocol service
  (Sentry, GlitchTip), tagged with the request id and the trace id, scrubbed of credentials.
- Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans of the API (FastAPI), the database
  (SQLAlchemy), Redis and outgoing HTTP (httpx, and `client_span` around the calls no
  instrumentation sees) are exported over OTLP/HTTP, and every log line written inside a span
  carries its `trace_id`.

Unset, neither SDK is started: no exporter, no background thread, no per-request work.
The API calls `init_observability(settings, "api", app)` in create_app; the job worker calls
`init_observability(settings, "worker")` before it creates its engine (engines created earlier
are not traced), and `shutdown_observability()` as it exits.
"""

import importlib.util
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from asgi_correlation_id import correlation_id

from app.core.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider

logger = logging.getLogger(__name__)

FILTERED = "[Filtered]"
# Keys whose values never leave the process: credentials, session material, personal secrets.
SENSITIVE_KEY = re.compile(
    r"authorization|cookie|passw|secret|token|api[-_]?key|session|csrf|credential|dsn",
    re.IGNORECASE,
)
# Probes and scrapes: frequent and uninteresting, never traced.
UNTRACED_URLS = "health/live,health/ready,metrics"

# The process's tracer provider once tracing is on (None: tracing off).
_tracer_provider: "TracerProvider | None" = None


def init_observability(settings: Settings, service_name: str, app: "FastAPI | None" = None) -> None:
    """Start error tracking and tracing as configured; safe to call more than once."""
    if settings.sentry_dsn:
        init_error_tracking(settings, service_name)
    if settings.otel_exporter_otlp_endpoint:
        init_tracing(settings, service_name)
        if app is not None:
            from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

            FastAPIInstrumentor.instrument_app(
                app, tracer_provider=_tracer_provider, excluded_urls=UNTRACED_URLS
            )


def init_error_tracking(settings: Settings, service_name: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger_for_events

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("tags", {})["service"] = service_name
        return scrub_event(event, hint)

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        release=settings.release,
        # Nothing that identifies a person or carries a credential: no user info, IP address or
        # cookies, no request bodies, no SQL parameters, and no frame locals (an ASGI frame's locals
        # hold the raw headers and body bytes, which no key-based scrubber sees into).
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_bodies": [],
            "database_query_data": False,
            "stack_frame_variables": False,
        },
        # Traces are OpenTelemetry's; Sentry takes errors only and adds no headers to the calls
        # this service makes (a sign-in provider would see its trace and release).
        traces_sample_rate=None,
        trace_propagation_targets=[],
        # An error logged (the last-resort handler's traceback, a failed job) is an event; plain
        # log lines stay in the service's own log.
        integrations=[LoggingIntegration(level=None, event_level=logging.ERROR)],
        before_send=before_send,  # type: ignore[arg-type]
    )
    # A trace collector that does not answer makes the exporter log an ERROR every batch: that is
    # the collector's outage, in this service's log, not an error of the app's for Sentry.
    ignore_logger_for_events("opentelemetry*")


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send: tag the event with the request and trace ids, drop credentials."""
    tags = event.setdefault("tags", {})
    if request_id := correlation_id.get():
        tags["request_id"] = request_id
    if trace_id := current_trace_id():
        tags["trace_id"] = trace_id
    request = event.get("request")
    if isinstance(request, dict) and request.get("query_string"):
        request["query_string"] = scrub_query(request["query_string"])
    return scrubbed(event)


def scrubbed(value: Any) -> Any:
    """`value` with the value of every sensitive key (at any depth) replaced."""
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and SENSITIVE_KEY.search(key) else scrubbed(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrubbed(item) for item in value]
    return value


def scrub_query(query: Any) -> Any:
    if not isinstance(query, str):
        return scrubbed(query)
    pairs = (part.partition("=") for part in query.split("&"))
    return "&".join(
        f"{name}={FILTERED if SENSITIVE_KEY.search(name) else value}" if sep else name
        for name, sep, value in pairs
    )


def httpx_installed() -> bool:
    """httpx is a test tool here, not in the production image: its instrumentor would log an ERROR
    at every start there."""
    return importlib.util.find_spec("httpx") is not None


def init_tracing(settings: Settings, service_name: str) -> None:
    """The OTLP/HTTP exporter and the database, Redis and httpx (where installed) instrumentations,
    once per process."""
    global _tracer_provider
    if _tracer_provider is not None:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint = f"{settings.otel_exporter_otlp_endpoint.rstrip('/')}/v1/traces"
    resource = Resource.create(
        {
            "service.name": f"{settings.otel_service_name}-{service_name}",
            "service.version": settings.release or "unknown",
            "deployment.environment": settings.environment,
        }
    )
    # The sampler follows OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default: every trace).
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    # Every engine created from now on (app.core.db.create_engine). Its version check stops at
    # SQLAlchemy 2.0, but the event API it uses is the same in 2.1 (tests/observability prove it).
    SQLAlchemyInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    if httpx_installed():
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _add_trace_id_to_log_records()
    _tracer_provider = provider
    logger.info("Exporting traces to %s", endpoint)


@contextmanager
def client_span(method: str, url: str) -> Iterator[Callable[[int], None]]:
    """A CLIENT span around an outgoing HTTP call that no instrumentation sees (the sign-in
    providers' httpx2 client); yields what records the answer's status code. Nothing with tracing
    off. No trace header goes out: a provider never sees this service's traces."""
    if _tracer_provider is None:
        yield lambda status_code: None
        return
    from opentelemetry.trace import SpanKind, StatusCode

    target = urlsplit(url)
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.full": target._replace(query="", fragment="").geturl(),
        "server.address": target.hostname or "",
        "server.port": target.port or (443 if target.scheme == "https" else 80),
    }
    tracer = _tracer_provider.get_tracer(__name__)
    with tracer.start_as_current_span(method, kind=SpanKind.CLIENT, attributes=attributes) as span:

        def answered(status_code: int) -> None:
            span.set_attribute("http.response.status_code", status_code)
            if status_code >= 400:
                span.set_attribute("error.type", str(status_code))
                span.set_status(StatusCode.ERROR)

        yield answered


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits (None outside a span or with tracing off)."""
    if _tracer_provider is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def flush_observability(timeout_seconds: float = 5) -> None:
    """Send what is buffered now (tests; a worker about to exit)."""
    if _tracer_provider is not None:
        _tracer_provider.force_flush(int(timeout_seconds * 1000))
    if "sentry_sdk" in sys.modules:
        sys.modules["sentry_sdk"].flush(timeout=timeout_seconds)


def shutdown_observability(timeout_seconds: float = 5) -> None:
    """Flush, then stop exporting and undo the process-wide instrumentation (the worker's exit;
    tests that started it)."""
    global _tracer_provider
    flush_observability(timeout_seconds)
    if "sentry_sdk" in sys.modules:
        sys.modules["sentry_sdk"].get_client().close(timeout=timeout_seconds)
    if _tracer_provider is not None:
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        RedisInstrumentor().uninstrument()
        SQLAlchemyInstrumentor().uninstrument()
        if httpx_installed():
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor().uninstrument()
        _tracer_provider.shutdown()
        _tracer_provider = None


def _add_trace_id_to_log_records() -> None:
    """Every LogRecord created inside a span gets a `trace_id` attribute, which the JSON log
    formatter writes like any other field (the record factory is wrapped once per process)."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "adds_trace_id", False):
        return

    def with_trace_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if trace_id := current_trace_id():
            record.trace_id = trace_id
        return record

    with_trace_id.adds_trace_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(with_trace_id)
