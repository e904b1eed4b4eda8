"""Billing's fixtures: localstripe (a stateful Stripe API fake) for the calls it implements
(customers), and a boundary fake of app/billing/stripe_api.py for the ones it does not (Checkout
and Customer Portal sessions)."""

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

from app.billing import stripe_api
from tests.billing.helpers import CONFIGURED
from tests.conftest import MakeClient


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """localstripe serving on a free port for the whole run; its URL."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603  (the project's own localstripe)
        [str(Path(sys.executable).with_name("localstripe")), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("localstripe did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def stripe_pages(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Checkout and Portal sessions, which localstripe lacks: each call recorded, a URL made."""
    calls: list[dict[str, Any]] = []

    async def checkout_url(settings: Any, **params: Any) -> str:
        calls.append({"page": "checkout", **params})
        return f"https://checkout.stripe.test/c/{len(calls)}"

    async def portal_url(settings: Any, **params: Any) -> str:
        calls.append({"page": "portal", **params})
        return f"https://billing.stripe.test/p/{len(calls)}"

    monkeypatch.setattr(stripe_api, "checkout_url", checkout_url)
    monkeypatch.setattr(stripe_api, "portal_url", portal_url)
    return calls


@pytest.fixture
async def billing_client(
    make_client: MakeClient, localstripe: str, stripe_pages: list[dict[str, Any]]
) -> AsyncIterator[AsyncClient]:
    """An app whose Stripe account is configured, talking to localstripe."""
    async with make_client(**CONFIGURED, stripe_api_base=localstripe) as client:
        yield client
