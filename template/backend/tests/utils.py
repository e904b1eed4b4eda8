"""Helpers the tests share: fresh users, metric values, a port nothing listens on."""

import socket
import uuid
from dataclasses import dataclass

from httpx import AsyncClient, Response
from prometheus_client.parser import text_string_to_metric_families

API = "/api/v1"
PASSWORD = "correct-horse-42"


@dataclass
class Account:
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


async def login(client: AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post(
        f"{API}/auth/login", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def register(client: AsyncClient, password: str = PASSWORD) -> str:
    """Register a new user; their email."""
    email = new_email()
    response = await client.post(
        f"{API}/auth/register", json={"email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    return email


async def signup(client: AsyncClient, password: str = PASSWORD) -> Account:
    """Register a new user and sign them in."""
    email = await register(client, password)
    tokens = await login(client, email, password)
    return Account(email, password, tokens["access_token"], tokens["refresh_token"])


def metric(response: Response, name: str, **labels: str) -> float:
    """The sum of the samples called `name` with these labels in a /metrics response."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def closed_port() -> int:
    """A local port with nothing listening (for an unreachable database or Redis)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
