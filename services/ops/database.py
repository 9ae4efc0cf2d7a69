"""A service's database, opened for one command and closed after it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from shared.db import Database


@contextlib.asynccontextmanager
async def open_database(url: str) -> AsyncIterator[Database]:
    """One connection is all a command needs; the services' own pools stay theirs."""
    database = Database(url, pool_size=1)
    try:
        yield database
    finally:
        await database.dispose()
