"""Alembic environment: migrations run on the app's own engine settings (async, no pool)."""

import asyncio
import importlib
from logging.config import fileConfig
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from app.core.config import Settings
from app.core.db import UTCDateTime, create_engine, is_app_table

# Every package's models.py holds tables (app/accounts/models.py): all imported, so autogenerate
# sees a new domain's tables with no edit here.
for models in sorted((Path(__file__).parents[1] / "app").glob("*/models.py")):
    importlib.import_module(f"app.{models.parent.name}.models")

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

target_metadata = SQLModel.metadata


def settings() -> Settings:
    # The tests hand over their settings; the command line reads DATABASE_URL or the .env file.
    return config.attributes.get("settings") or Settings()


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write the app's column types as plain SQLAlchemy ones, so migrations import nothing else."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_item=render_item,
        include_name=is_app_table,
        compare_type=True,
        **options,
    )


def run_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    configure(url=settings().database_url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_with(connection: Connection) -> None:
    # SQLite alters tables by copying them: batch mode does that for every ALTER.
    configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_engine(settings(), pooled=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_with)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
