"""What production publishes: no /metrics on the API's port (Prometheus scrapes its own port) and
no /docs or /openapi.json unless DOCS_ENABLED says so."""

import socket
import urllib.request
from pathlib import Path

import pytest

from app.__main__ import serve_metrics
from tests.conftest import MakeClient

pytestmark = pytest.mark.anyio

PUBLIC_IN_DEVELOPMENT = ("/metrics", "/docs", "/openapi.json")
# The test client's host name, which production answers for only when told.
PRODUCTION = {"environment": "production", "allowed_hosts": ["testserver"]}


async def test_production_api_port_serves_no_metrics_or_docs(make_client: MakeClient) -> None:
    async with make_client(**PRODUCTION) as client:
        for path in PUBLIC_IN_DEVELOPMENT:
            assert (await client.get(path)).status_code == 404, path


async def test_docs_are_served_in_production_when_enabled(make_client: MakeClient) -> None:
    async with make_client(**PRODUCTION, docs_enabled=True) as client:
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/metrics")).status_code == 404


async def test_local_serves_metrics_and_docs_on_the_api_port(make_client: MakeClient) -> None:
    async with make_client(environment="local") as client:
        for path in PUBLIC_IN_DEVELOPMENT:
            assert (await client.get(path)).status_code == 200, path


def test_metrics_port_serves_prometheus_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve_metrics("127.0.0.1", port)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
