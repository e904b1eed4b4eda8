"""What every response carries: security headers, a request id, CORS for the configured origins."""

import asyncio
import io
import json
import logging
import re
import sys
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient

import app.__main__ as serve
from app.core.config import Settings
from app.main import stop_tasks
from app.observability.logs import JsonFormatter
from tests.conftest import MakeApp, MakeClient, make_settings
from tests.utils import API, signup

pytestmark = pytest.mark.anyio

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health/live"),
        ("GET", f"{API}/users/me"),
        ("GET", "/nowhere"),
        ("POST", f"{API}/auth/register"),
    ],
)
async def test_every_response_has_security_headers(
    client: AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    for header in SECURITY_HEADERS:
        assert header in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("allowed", [[], ["api.example.test"]])
async def test_production_answers_for_its_own_host_names_only(
    make_app: MakeApp, allowed: list[str]
) -> None:
    site = allowed[0] if allowed else "app.example.test"
    overrides = {"public_url": "https://app.example.test", "allowed_hosts": allowed}
    async with make_app(environment="production", **overrides) as (app, _):
        transport = ASGITransport(app=app, client=("10.9.0.1", 50000))
        async with AsyncClient(transport=transport, base_url=f"http://{site}") as client:
            account = await signup(client)
            item = {"title": "where does it live?"}
            created = await client.post(f"{API}/items", json=item, headers=account.headers)
            assert created.status_code == 201, created.text
            assert created.headers["Location"].startswith(f"http://{site}{API}/items/")
            # A Host header naming another site is refused before anything is built from it.
            forged = {**account.headers, "Host": "evil.example"}
            refused = await client.post(f"{API}/items", json=item, headers=forged)
            assert refused.status_code == 400, refused.text
            assert "evil.example" not in refused.headers.get("Location", "")
            slash = await client.get(f"{API}/items/", headers=forged)  # the trailing-slash redirect
            assert slash.status_code == 400
            # Health checks reach the API by address: the loopback, or a pod's IP.
            for host in ("127.0.0.1:8000", "10.1.2.3:8000"):
                assert (await client.get("/health/live", headers={"Host": host})).status_code == 200
            local = await client.get(f"{API}/users/me", headers={"Host": "localhost:8000"})
            assert local.status_code == 401


async def test_a_500_has_the_headers_and_is_logged_with_the_request_id(make_app: MakeApp) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        async with make_app() as (app, client):
            app.add_api_route("/broken", broken)
            response = await client.get("/broken")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    for header in SECURITY_HEADERS:
        assert header in response.headers
    [entry] = [json.loads(line) for line in stream.getvalue().splitlines() if "a bug" in line]
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert entry["level"] == "ERROR"


async def test_production_adds_hsts(make_client: MakeClient) -> None:
    async with make_client(environment="production") as client:
        response = await client.get("/health/live")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_pages_load_their_files_from_the_api_itself(
    client: AsyncClient, path: str
) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    # Offline, a CDN's script never arrives: the page names none, and its policy allows none.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), page.text
    policy = page.headers["Content-Security-Policy"]
    for directive in ("default-src", "script-src", "style-src", "font-src", "worker-src"):
        assert "http" not in next((d for d in policy.split(";") if directive in d), ""), policy
    files = re.findall(r"""(?:src|href)=["'](/[^"']+)""", page.text)
    assert any(name.endswith(".js") for name in files), page.text
    for name in files:
        served = await client.get(name)
        assert served.status_code == 200, name
        assert int(served.headers["Content-Length"]) > 1000, name


async def test_make_dev_with_its_one_process_does_not_warn_of_workers(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    # `make dev` runs uvicorn app.main:app: one process, though the tier's WEB_CONCURRENCY is 2.
    with caplog.at_level("WARNING"):
        async with make_app(web_concurrency=2, redis_url=None):
            pass
    assert "REDIS_URL" not in caplog.text


def test_python_m_app_warns_when_its_workers_share_no_redis(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    started: dict[str, object] = {}
    two_workers = make_settings(
        **{**settings.model_dump(), "web_concurrency": 2, "redis_url": None}
    )
    monkeypatch.setattr(sys, "argv", ["python -m app"])
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(serve, "get_settings", lambda: two_workers)
    monkeypatch.setattr(serve, "configure_logging", lambda level: None)  # keeps caplog's handler
    monkeypatch.setattr(serve, "serve_metrics", lambda host, port: None)
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **options: started.update(options))
    with caplog.at_level("WARNING"):
        serve.main()
    assert started["workers"] == 2
    assert "REDIS_URL is unset with 2 worker processes" in caplog.text


async def test_request_id_is_made_or_kept(client: AsyncClient) -> None:
    made = await client.get("/health/live")
    assert len(made.headers["X-Request-ID"]) == 32
    kept = await client.get("/health/live", headers={"X-Request-ID": "edge-abc.123"})
    assert kept.headers["X-Request-ID"] == "edge-abc.123"
    replaced = await client.get("/health/live", headers={"X-Request-ID": "bad id\n"})
    assert replaced.headers["X-Request-ID"] != "bad id\n"


async def test_access_log_is_json_with_the_request_id(client: AsyncClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("app.access")
    access.addHandler(handler)
    try:
        response = await client.get(f"{API}/items")
    finally:
        access.removeHandler(handler)
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert (entry["status"], entry["route"], entry["method"]) == (401, "/api/v1/items", "GET")


async def test_cors_allows_the_configured_origins_only(make_client: MakeClient) -> None:
    async with make_client(cors_origins=["https://app.example.com"]) as client:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = await client.options(
            f"{API}/items", headers={"Origin": "https://app.example.com", **preflight}
        )
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        refused = await client.options(
            f"{API}/items", headers={"Origin": "https://evil.example.com", **preflight}
        )
        assert "Access-Control-Allow-Origin" not in refused.headers


async def test_shutdown_stops_a_task_that_swallows_its_cancel() -> None:
    """asyncio.wait_for on Python 3.11 can drop a cancel; the dependency watcher then looped on
    and the app's shutdown waited for it forever (a hung test run)."""
    swallowed = asyncio.Event()

    async def watcher() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()  # as if the cancel had been lost: go on looping
        await asyncio.sleep(3600)

    task = asyncio.create_task(watcher())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_tasks([task]), timeout=5)
    assert swallowed.is_set()
    assert task.cancelled()
