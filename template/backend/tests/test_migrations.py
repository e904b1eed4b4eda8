"""The migrations build exactly the schema the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from app.core.config import Settings
from app.core.db import create_engine, is_app_table

pytestmark = pytest.mark.anyio


async def test_models_and_migrations_agree(settings: Settings) -> None:
    engine = create_engine(settings, pooled=False)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "include_name": is_app_table}
                    ),
                    SQLModel.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert differences == []
