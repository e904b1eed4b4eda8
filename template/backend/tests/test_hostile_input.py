"""Hostile or broken input: refused with a 4xx that carries the security headers, never echoed
back, never stored; too large or too slow a request is refused before it takes a slot."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from app.core.config import RequestLimits, Settings
from tests.conftest import MakeApp
from tests.utils import API, new_email, signup

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}


def assert_refused(response_headers: object) -> None:
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Request-ID"):
        assert header in response_headers  # type: ignore[operator]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/items", b'{"title": "\\ud800"}'),
        ("/items", b'{"title": "ok", "description": "\\udfff and more"}'),
        ("/auth/register", b'{"email": "\\ud800@example.com", "password": "passw0rd!"}'),
        ("/auth/register", b'{"email": "a@example.com", "password": "passw0rd!\\ud834"}'),
    ],
)
async def test_a_lone_surrogate_in_any_json_string_is_422(
    client: AsyncClient, path: str, body: bytes
) -> None:
    account = await signup(client)
    response = await client.post(f"{API}{path}", content=body, headers={**JSON, **account.headers})
    assert response.status_code == 422, response.text
    assert_refused(response.headers)


async def test_a_surrogate_pair_is_text_like_any_other(client: AsyncClient) -> None:
    account = await signup(client)
    response = await client.post(
        f"{API}/items", content=b'{"title": "\\ud83d\\ude00"}', headers={**JSON, **account.headers}
    )
    assert response.status_code == 201
    assert response.json()["title"] == "\N{GRINNING FACE}"


async def test_a_422_never_echoes_what_was_sent(client: AsyncClient) -> None:
    weak = "onlyletterssecret"
    response = await client.post(
        f"{API}/auth/register", json={"email": new_email(), "password": weak}
    )
    assert response.status_code == 422
    assert weak not in response.text

    account = await signup(client)
    title = "t" * 60_000  # under the body limit, far over the title's
    response = await client.post(f"{API}/items", json={"title": title}, headers=account.headers)
    assert response.status_code == 422
    assert len(response.content) < 1000


@pytest.mark.parametrize("title", ["   ", "\t\n", "\x01\x02", "\u00a0"])
async def test_a_title_of_only_whitespace_or_control_characters_is_422(
    client: AsyncClient, title: str
) -> None:
    account = await signup(client)
    created = await client.post(f"{API}/items", json={"title": title}, headers=account.headers)
    assert created.status_code == 422
    valid = await client.post(f"{API}/items", json={"title": "ok"}, headers=account.headers)
    renamed = await client.patch(
        f"{API}/items/{valid.json()['id']}", json={"title": title}, headers=account.headers
    )
    assert renamed.status_code == 422


async def test_a_body_over_the_limit_is_413(client: AsyncClient, settings: Settings) -> None:
    account = await signup(client)
    too_large = b'{"title": "' + b"t" * settings.request_limits.max_body_bytes + b'"}'
    response = await client.post(
        f"{API}/items", content=too_large, headers={**JSON, **account.headers}
    )
    assert response.status_code == 413
    assert_refused(response.headers)

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for start in range(0, len(too_large), 4096):
            yield too_large[start : start + 4096]

    response = await client.post(
        f"{API}/items", content=streamed(), headers={**JSON, **account.headers}
    )
    assert response.status_code == 413


async def test_headers_over_the_limit_are_431(client: AsyncClient, settings: Settings) -> None:
    padding = "p" * settings.request_limits.max_header_bytes
    response = await client.get("/health/live", headers={"X-Padding": padding})
    assert response.status_code == 431
    assert_refused(response.headers)


async def test_a_body_that_never_ends_is_408_and_holds_no_slot(make_app: MakeApp) -> None:
    limits = RequestLimits(body_timeout_seconds=0.5)
    async with make_app(max_in_flight=1, request_limits=limits) as (_, client):
        account = await signup(client)

        async def never_ends() -> AsyncIterator[bytes]:
            yield b'{"title": "sl'
            await asyncio.sleep(30)

        slow = asyncio.create_task(
            client.post(f"{API}/items", content=never_ends(), headers={**JSON, **account.headers})
        )
        await asyncio.sleep(0.1)
        # The only slot is free: the slow request is still sending, not being served.
        assert (await client.get(f"{API}/items", headers=account.headers)).status_code == 200
        response = await asyncio.wait_for(slow, timeout=5)
        assert response.status_code == 408
        assert_refused(response.headers)
