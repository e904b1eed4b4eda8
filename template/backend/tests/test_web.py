"""`make dev`: the API serves frontend/'s public files, and nothing else of it."""

from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from app.web import FRONTEND_DIR
from tests.conftest import MakeClient

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not (FRONTEND_DIR / "index.html").is_file(), reason="no frontend/"),
]


@pytest.fixture
async def dev_client(make_client: MakeClient) -> AsyncIterator[AsyncClient]:
    async with make_client(environment="local") as client:
        yield client


async def test_public_files_are_served_uncached(dev_client: AsyncClient) -> None:
    script = await dev_client.get("/static/dev/src/main.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert script.headers["Cache-Control"] == "no-cache"
    manifest = await dev_client.get("/static/dev/manifest.webmanifest")
    assert manifest.headers["Content-Type"] == "application/manifest+json"


@pytest.mark.parametrize(
    "path",
    [
        "/static/x/src%00/main.js",  # a NUL byte: was a 500 ("embedded null byte")
        "/static/x/package.json",
        "/static/x/src/%2e%2e/package.json",
        "/static/x/e2e/conftest.py",
        "/static/x/src/nowhere.js",
    ],
)
async def test_anything_else_is_404(dev_client: AsyncClient, path: str) -> None:
    response = await dev_client.get(path)
    assert response.status_code == 404
    assert "X-Content-Type-Options" in response.headers


@pytest.mark.parametrize("path", ["/", "/items", "/no-such-page"])
async def test_head_of_a_page_answers_as_its_get_does(dev_client: AsyncClient, path: str) -> None:
    head = await dev_client.head(path)
    assert head.status_code == 200
    assert head.headers["Content-Type"].startswith("text/html")
    assert head.content == b""
