"""Fixtures shared by every tier."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from shared.db import Database
from shared.messaging.tables import messaging_metadata

T = TypeVar("T")


async def wait_until(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, every: float = 0.02) -> T:
    """Poll `probe` until it returns something truthy; the wait-until-seen assertion of async tests."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not seen within {timeout}s")
        await asyncio.sleep(every)


@pytest.fixture
async def messaging_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite database holding only the messaging tables (outbox, inbox, idempotency keys)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/messaging.db")
    async with database.engine.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
    yield database
    await database.dispose()
