"""Alembic, driven from code: each service migrates its own database at start (or via `firstcall db`).

Each service keeps a `migrations/` folder whose env.py is two lines calling `run_environment`. On
PostgreSQL an advisory lock makes concurrent replicas take turns instead of racing on the same DDL.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from shared.db import Database

MIGRATION_LOCK_KEY = 0x0F1257CA12


def alembic_config(script_location: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def upgrade_to_head(database: Database, script_location: Path) -> None:
    """Apply every pending migration of one service to its database."""
    config = alembic_config(script_location, database.url.render_as_string(hide_password=False))
    async with database.engine.begin() as conn:
        if not database.is_sqlite:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade, config)


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def new_revision(database: Database, script_location: Path, message: str) -> None:
    """Write a migration for the difference between the models and the (migrated) database."""
    await upgrade_to_head(database, script_location)
    config = alembic_config(script_location, database.url.render_as_string(hide_password=False))
    async with database.engine.begin() as conn:
        await conn.run_sync(_revision, config, message)


def _revision(connection: Connection, config: Config, message: str) -> None:
    config.attributes["connection"] = connection
    command.revision(config, message=message, autogenerate=True)


def run_environment(target_metadata: Sequence[MetaData]) -> None:
    """The body of every service's migrations/env.py (online mode on the shared connection)."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `firstcall db upgrade <service>` or service start-up")
    context.configure(
        connection=connection,
        target_metadata=list(target_metadata),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table rebuilds for ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
