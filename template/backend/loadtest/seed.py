"""Seed the database for a load test: thousands of users, tens of thousands of items, in seconds.

    cd backend && uv run python -m loadtest.seed --users 2000 --items 20000

Uses DATABASE_URL (the same database `make migrate` brings up to date). Earlier seeded accounts
(emails at loadtest.example.com) and their items are deleted first, so it can run again.
"""

import argparse
import asyncio
import random
import time
import uuid
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.models import User
from app.core.config import Settings, get_settings
from app.core.db import create_engine, utcnow
from app.core.security import password_hash
from app.items.models import Item
from loadtest import accounts

BATCH = 5_000  # rows per INSERT statement: large enough to be quick, small enough for SQLite


async def seed(database_url: str, users: int, items: int, *, seed: int = 20261121) -> None:
    """Replace the seeded accounts with `users` new ones holding `items` items in all."""
    rng = random.Random(seed)  # noqa: S311  (test data, not secrets)
    hashed = password_hash.hash(accounts.PASSWORD)  # once: argon2 is slow by design
    now = utcnow()
    user_rows = [
        {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "email": accounts.email(index),
            "hashed_password": hashed,
            "full_name": f"Load Test {index}",
            "is_active": True,
            "email_verified": True,  # they sign in at once, as verified accounts do
            "created_at": now - timedelta(days=365),
        }
        for index in range(users)
    ]
    item_rows = []
    for user, count in zip(user_rows, accounts.items_per_user(users, items), strict=True):
        for number in range(count):
            created = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
            item_rows.append(
                {
                    "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "owner_id": user["id"],
                    "title": f"Item {number} of {user['email']}",
                    "description": "Seeded for a load test. " * rng.randrange(1, 6),
                    "created_at": created,
                    "updated_at": created,
                }
            )
    # Validated, so a plain postgresql:// URL gets the async driver as DATABASE_URL does.
    settings = Settings.model_validate(
        {**get_settings().model_dump(), "database_url": database_url}
    )
    engine = create_engine(settings, pooled=False)
    try:
        async with engine.begin() as connection:
            await _delete_seeded(connection)
            for table, rows in ((User, user_rows), (Item, item_rows)):
                for start in range(0, len(rows), BATCH):
                    await connection.execute(insert(table), rows[start : start + BATCH])
    finally:
        await engine.dispose()


async def _delete_seeded(connection: AsyncConnection) -> None:
    seeded = select(User.id).where(User.email.like(f"%@{accounts.EMAIL_DOMAIN}"))  # type: ignore[attr-defined]
    await connection.execute(delete(Item).where(Item.owner_id.in_(seeded)))  # type: ignore[attr-defined]
    await connection.execute(delete(User).where(User.id.in_(seeded)))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=accounts.DEFAULT_USERS)
    parser.add_argument("--items", type=int, default=accounts.DEFAULT_ITEMS)
    options = parser.parse_args()
    started = time.perf_counter()
    asyncio.run(seed(get_settings().database_url, options.users, options.items))
    print(
        f"Seeded {options.users} users ({accounts.email(0)} ...; password {accounts.PASSWORD}) "
        f"and {options.items} items in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
