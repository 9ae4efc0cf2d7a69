"""Sessions that begin their transaction at the first write (shared/lazy_begin.py), on real PostgreSQL."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.customers.models import Customer, CustomerIdentity
from shared.db import Database
from shared.inserts import stage_new
from shared.messaging.outbox import add_events
from shared.messaging.tables import outbox
from shared.migrations import upgrade_to_head
from tests.factories import ticket_opened

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url, pool_size=1)  # one connection: every session gets the one before it
    await upgrade_to_head(database, Path(importlib.import_module("services.router.bootstrap").MIGRATIONS))
    yield database
    await database.dispose()


class Sent:
    """Each statement the database's connections send, with whether it runs outside a transaction (seen
    after lazy_begin's own hook, which was registered first, has decided)."""

    def __init__(self, database: Database) -> None:
        self.statements: list[tuple[str, bool]] = []
        event.listen(database.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        alone = bool(conn.connection.dbapi_connection.autocommit)
        self.statements.append((statement.split(maxsplit=1)[0].upper(), alone))

    @staticmethod
    async def pid(session: AsyncSession) -> int:
        raw = await (await session.connection()).get_raw_connection()
        return int(raw.driver_connection.get_server_pid())  # type: ignore[union-attr]


async def in_transaction(database: Database, pid: int) -> bool:
    """Whether the backend `pid` is inside a transaction, as another connection sees it."""
    other = Database(database.url.render_as_string(False), pool_size=1)
    try:
        async with other.engine.connect() as conn:
            state = await conn.scalar(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
    finally:
        await other.dispose()
    return bool(state and state.startswith("idle in transaction"))


def customer(name: str = "Ada") -> Customer:
    return Customer(id=uuid.uuid4(), display_name=name, created_at=datetime.now(UTC))


async def test_reads_run_outside_a_transaction_and_a_single_insert_is_sent_alone(database: Database) -> None:
    sent = Sent(database)
    ada = customer()
    async with database.session(begin_on_write=True) as session:
        pid = await sent.pid(session)
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0
        assert not await in_transaction(database, pid)
        stage_new(session, ada)
        await add_events(session, ticket_opened(customer_id=ada.id))
        await session.commit()

    # No BEGIN, no COMMIT: the one INSERT (customer and event) is atomic alone.
    assert sent.statements == [("SELECT", True), ("WITH", True)]
    async with database.session() as session:
        assert await session.get(Customer, ada.id) is not None
        assert await session.scalar(select(func.count()).select_from(outbox)) == 1


async def test_a_locking_read_begins_the_transaction_and_holds_its_lock(database: Database) -> None:
    ada = customer()
    async with database.session() as session:
        session.add(ada)
        await session.commit()
    sent = Sent(database)
    async with database.session(begin_on_write=True) as session:
        pid = await sent.pid(session)
        await session.scalar(select(Customer.display_name).where(Customer.id == ada.id))
        await session.get(Customer, ada.id, with_for_update=True, populate_existing=True)
        assert await in_transaction(database, pid)
        stage_new(session, customer("Grace"))
        await session.commit()
    assert sent.statements == [("SELECT", True), ("SELECT", False), ("INSERT", False)]


async def test_several_writes_are_one_transaction_and_fail_together(database: Database) -> None:
    ada = customer()
    async with database.session() as session:
        session.add(ada)
        session.add(
            CustomerIdentity(customer_id=ada.id, kind="email", value="ada@example.com", created_at=datetime.now(UTC))
        )
        await session.commit()
    grace = customer("Grace")
    sent = Sent(database)
    async with database.session(begin_on_write=True) as session:
        session.add(grace)  # flushed first (autoflush), then the staged identity conflicts
        identity = {"customer_id": grace.id, "kind": "email", "value": "ada@example.com"}
        stage_new(session, CustomerIdentity(id=uuid.uuid4(), created_at=datetime.now(UTC), **identity))
        with pytest.raises(IntegrityError):
            await session.commit()
    assert sent.statements == [("INSERT", False), ("INSERT", False)]
    async with database.session() as session:
        assert await session.get(Customer, grace.id) is None


async def test_a_conflict_in_the_lone_insert_writes_nothing(database: Database) -> None:
    ada = customer()
    async with database.session() as session:
        session.add(ada)
        await session.commit()
    async with database.session(begin_on_write=True) as session:
        await session.scalar(select(func.count()).select_from(Customer))
        stage_new(session, Customer(id=ada.id, display_name="twin", created_at=datetime.now(UTC)))
        await add_events(session, ticket_opened(customer_id=ada.id))
        with pytest.raises(IntegrityError):
            await session.commit()
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == 0
        assert (await session.get(Customer, ada.id)).display_name == "Ada"  # type: ignore[union-attr]


@pytest.mark.parametrize("ended_by", ["commit", "rollback", "close"])
async def test_the_pool_never_hands_out_a_connection_still_in_autocommit(database: Database, ended_by: str) -> None:
    async with database.session(begin_on_write=True) as session:
        await session.scalar(select(func.count()).select_from(Customer))
        if ended_by == "commit":
            await session.commit()
        elif ended_by == "rollback":
            await session.rollback()
    # The same (only) connection, in an ordinary session: its write must still be undone by a rollback.
    ada = customer()
    sent = Sent(database)
    async with database.session() as session:
        session.add(ada)
        await session.flush()
        await session.rollback()
    assert sent.statements == [("INSERT", False)]
    async with database.session() as session:
        assert await session.get(Customer, ada.id) is None
