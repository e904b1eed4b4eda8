"""Error tracking and traces, received by a local server as a Sentry-protocol service and an
OTLP/HTTP collector would receive them: what the real SDKs send, decoded."""

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.core.config import BACKEND_DIR
from app.observability import tracing as observability
from tests.conftest import MakeApp
from tests.utils import API

pytestmark = pytest.mark.anyio

SECRET_PASSWORD = "hunter2-never-leaves"
SECRET_TOKEN = "refresh-token-never-leaves"
BEARER = "bearer-token-never-leaves"


@dataclass
class Received:
    path: str
    body: bytes


@dataclass
class Receiver:
    """A Sentry envelope endpoint and an OTLP/HTTP trace endpoint on 127.0.0.1."""

    url: str
    posts: list[Received] = field(default_factory=list)

    @property
    def sentry_dsn(self) -> str:
        return self.url.replace("http://", "http://public-key@") + "/1"

    def sentry_events(self) -> list[dict]:
        return [
            item
            for post in self.posts
            if post.path == "/api/1/envelope/"
            for kind, item in envelope_items(post.body)
            if kind == "event"
        ]

    def spans(self) -> list:
        found = []
        for post in self.posts:
            if post.path == "/v1/traces":
                request = ExportTraceServiceRequest.FromString(post.body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        found.extend(scope.spans)
        return found


def decoded(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":  # Sentry's choice when brotli is installed
        import brotli

        return brotli.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def envelope_items(body: bytes) -> Iterator[tuple[str, dict]]:
    """The (type, payload) items of a Sentry envelope: a header line, then per item a header line
    and its payload (`length` bytes when the header says, else up to the next newline)."""
    _, _, rest = body.partition(b"\n")
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        if header.get("type") == "event":
            yield "event", json.loads(payload)
        else:
            yield header.get("type", ""), {}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            encoding = self.headers.get("Content-Encoding", "")
            received.append(Received(self.path, decoded(body, encoding)))
            # A collector that refuses what it gets: under /refused/ (OTLP does not retry a 400).
            self.send_response(400 if self.path.startswith("/refused/") else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_port}", received)
    finally:
        observability.shutdown_observability(timeout_seconds=2)
        server.shutdown()


async def test_an_unhandled_error_arrives_once_tagged_and_without_credentials(
    make_app: MakeApp, receiver: Receiver
) -> None:
    async with make_app(sentry_dsn=receiver.sentry_dsn, release="test-release") as (app, client):

        @app.post("/test/error")
        async def fail(payload: dict[str, str]) -> None:
            raise RuntimeError("the founder's bug")

        app.router.routes.insert(0, app.router.routes.pop())  # before the frontend's catch-all
        response = await client.post(
            "/test/error",
            json={"password": SECRET_PASSWORD, "refresh_token": SECRET_TOKEN},
            headers={"Authorization": f"Bearer {BEARER}", "Cookie": f"session={SECRET_TOKEN}"},
        )
        observability.flush_observability()
    assert response.status_code == 500
    events = [
        event
        for event in receiver.sentry_events()
        if event.get("tags", {}).get("request_id") == response.headers["X-Request-ID"]
    ]
    assert len(events) == 1, [event.get("message") for event in receiver.sentry_events()]
    event = events[0]
    assert event["environment"] == "test"
    assert event["release"] == "test-release"
    assert event["tags"]["service"] == "api"
    assert "the founder's bug" in json.dumps(event["exception"])
    sent = b"".join(post.body for post in receiver.posts)
    for secret in (SECRET_PASSWORD, SECRET_TOKEN, BEARER):
        assert secret.encode() not in sent, f"{secret} was sent"


async def test_a_trace_collector_that_refuses_sends_nothing_to_sentry(
    make_app: MakeApp, receiver: Receiver
) -> None:
    """The exporter logs an ERROR for every batch the collector refuses: the service's log has it,
    Sentry gets no event for it (every 10 s, it would flood the project)."""
    observability.shutdown_observability(timeout_seconds=2)  # tracing starts once per process
    before = len(receiver.posts)
    try:
        async with make_app(
            sentry_dsn=receiver.sentry_dsn, otel_exporter_otlp_endpoint=f"{receiver.url}/refused"
        ) as (_, client):
            form = {"username": "nobody@example.com", "password": "wrong-1"}
            assert (await client.post(f"{API}/auth/login", data=form)).status_code == 401
            observability.flush_observability()
    finally:
        observability.shutdown_observability(timeout_seconds=2)
    posts = receiver.posts[before:]
    assert any(post.path == "/refused/v1/traces" for post in posts), "no batch was exported"
    events = [
        item
        for post in posts
        if post.path == "/api/1/envelope/"
        for kind, item in envelope_items(post.body)
        if kind == "event"
    ]
    assert [event.get("logger") for event in events] == []


def test_tracing_starts_without_httpx_and_logs_no_error(tmp_path: Path) -> None:
    """The production image has no httpx (a test tool here): tracing instruments what is there."""
    script = """
import logging, sys
sys.modules["httpx"] = None  # not installed, as in the production image
logging.basicConfig(level=logging.WARNING)
from app.observability import tracing as observability
from app.core.config import Settings

settings = Settings(_env_file=None, environment="test", database_url=sys.argv[1],
                    otel_exporter_otlp_endpoint="http://127.0.0.1:9")
observability.init_tracing(settings, "api")
observability.shutdown_observability(timeout_seconds=0.1)
print("started")
"""
    done = in_a_fresh_process(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "started"
    assert "ERROR" not in done.stderr, done.stderr


def test_scrubbing_reaches_every_depth_and_the_query_string() -> None:
    event = {
        "request": {
            "query_string": "token=abc&page=2",
            "headers": {"Authorization": "Bearer abc", "Accept": "application/json"},
            "cookies": {"session": "abc"},
        },
        "extra": {"payload": [{"new_password": "abc", "title": "kept"}]},
    }
    scrubbed = observability.scrub_event(event)
    assert scrubbed["request"]["query_string"] == f"token={observability.FILTERED}&page=2"
    assert scrubbed["request"]["headers"]["Accept"] == "application/json"
    assert scrubbed["extra"]["payload"][0]["title"] == "kept"
    assert "abc" not in json.dumps(scrubbed)


async def test_a_request_is_one_trace_of_api_database_and_redis_spans_named_in_its_log(
    make_app: MakeApp, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    async with make_app(otel_exporter_otlp_endpoint=receiver.url) as (app, client):
        response = await client.post(
            f"{API}/auth/login", data={"username": "nobody@example.com", "password": "wrong-1"}
        )
        observability.flush_observability()
        redis_used = app.state.redis is not None
    assert response.status_code == 401
    request_id = response.headers["X-Request-ID"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    access = next(
        line
        for line in lines
        if line.get("request_id") == request_id and line.get("logger") == "app.access"
    )
    trace_id = access["trace_id"]
    spans = [span for span in receiver.spans() if span.trace_id.hex() == trace_id]
    systems = {
        attribute.value.string_value
        for span in spans
        for attribute in span.attributes
        if attribute.key == "db.system"
    }
    assert any(span.name.startswith("POST /api/v1/auth/login") for span in spans)
    assert systems & {"postgresql", "sqlite"}, systems
    if redis_used:
        assert "redis" in systems, systems


def in_a_fresh_process(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`script` run by this interpreter in the backend folder, with neither SENTRY_* nor OTEL_*
    set and an unused SQLite database's URL as its argument."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("SENTRY_", "OTEL_"))
    }
    database = f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}"
    return subprocess.run(  # noqa: S603  (this interpreter, the script given)
        [sys.executable, "-c", script, database],
        capture_output=True,
        text=True,
        cwd=BACKEND_DIR,
        env=env,
        check=False,
    )


def test_without_the_settings_nothing_is_started(tmp_path: Path) -> None:
    """A fresh process: the app serves a request with neither SDK loaded, no exporter thread (so
    nothing sent anywhere) and log records as Python makes them."""
    script = """
import asyncio, logging, sys, threading
from httpx import ASGITransport, AsyncClient
from app.core.config import Settings
from app.main import create_app

# FastAPI itself imports the OpenTelemetry API when it is installed, and asgi-correlation-id
# imports sentry_sdk to find out whether it is there: those may load, but never start.
SDKS = ("opentelemetry.sdk.trace", "opentelemetry.exporter")
STARTED_ONLY_WHEN_SET = (*SDKS, "opentelemetry.instrumentation")

async def main():
    app = create_app(Settings(_env_file=None, environment="test", database_url=sys.argv[1]))
    async with app.router.lifespan_context(app), AsyncClient(
        transport=ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        assert (await client.get("/health/live")).status_code == 200
    print([thread.name for thread in threading.enumerate()])
    print(sorted(name for name in sys.modules if name.startswith(STARTED_ONLY_WHEN_SET)))
    print(logging.getLogRecordFactory() is logging.LogRecord)
    sentry = sys.modules.get("sentry_sdk")
    print(sentry is not None and sentry.get_client().is_active())

asyncio.run(main())
"""
    done = in_a_fresh_process(script, tmp_path)
    assert done.returncode == 0, done.stderr
    threads, modules, plain_records, sentry_active = done.stdout.splitlines()[-4:]
    assert threads == "['MainThread']", threads
    assert modules == "[]", modules
    assert plain_records == "True"
    assert sentry_active == "False"
