"""The load test's seed: Zipf-shared items that add up, and accounts that can sign in."""

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from app.core.config import Settings
from app.core.db import create_engine
from loadtest import accounts, jobs
from loadtest.seed import seed
from tests.conftest import TEST_DATABASE_URL
from tests.utils import API


def test_items_are_shared_out_zipf_wise_and_add_up() -> None:
    counts = accounts.items_per_user(2_000, 20_000)
    assert sum(counts) == 20_000
    assert min(counts) >= 1
    assert counts[0] == max(counts) > 100 * counts[-1]


@pytest.mark.anyio
async def test_seeded_accounts_sign_in_and_list_their_items(
    database_url: str, client: AsyncClient
) -> None:
    await seed(database_url, users=3, items=7)
    form = {"username": accounts.email(0), "password": accounts.PASSWORD}
    login = await client.post(f"{API}/auth/login", data=form)
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    listed = await client.get(f"{API}/items", headers=headers)
    assert listed.json()["count"] == accounts.items_per_user(3, 7)[0]


@pytest.mark.anyio
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")
async def test_the_job_benchmark_runs_every_job_it_enqueues(settings: Settings) -> None:
    assert await jobs.measure(settings, 20) > 0
    engine = create_engine(settings, pooled=False)
    try:
        async with engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'loadtest' "
                    "AND status <> 'succeeded'"
                )
            )
    finally:
        await engine.dispose()
    assert waiting == 0
