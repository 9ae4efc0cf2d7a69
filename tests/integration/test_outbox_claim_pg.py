"""PostgreSQL: the relay reads and marks its batch in one statement, and a batch the bus did not take stays
unpublished (decision 0046)."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from shared.bus.memory import InMemoryBus
from shared.db import Database
from shared.events.envelope import from_kafka
from shared.events.topics import TICKETS
from shared.messaging.outbox import OutboxRelay, add_events
from shared.messaging.tables import outbox
from shared.metrics import ServiceMetrics
from shared.migrations import upgrade_to_head
from tests.factories import ticket_opened

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    await upgrade_to_head(database, Path(importlib.import_module("services.notifier.bootstrap").MIGRATIONS))
    yield database
    await database.dispose()


async def stage(database: Database, transactions: int, each: int, ticket: uuid.UUID) -> list[str]:
    staged: list[str] = []
    for _ in range(transactions):
        async with database.session() as session:
            staged += [e.id for e in await add_events(session, *(ticket_opened(ticket_id=ticket) for _ in range(each)))]
            await session.commit()
    return staged


async def test_a_cycle_reads_and_marks_its_batch_in_one_statement_and_keeps_the_order(database: Database) -> None:
    bus = InMemoryBus([TICKETS])
    relay = OutboxRelay(database=database, bus=bus, metrics=ServiceMetrics("it"), batch_size=7)
    staged = await stage(database, 5, 4, uuid.uuid4())  # one key: the bus's order is the publish order
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        assert [await relay.publish_batch() for _ in range(4)] == [7, 7, 6, 0]
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)

    on_outbox = [s for s in statements if "outbox" in s]
    assert len(on_outbox) == 4, "one statement a cycle reads and marks the batch"
    assert all(s.lstrip().upper().startswith("UPDATE") and "RETURNING" in s.upper() for s in on_outbox)
    assert [from_kafka(r.value, r.headers).id for r in bus.records(TICKETS.name)] == staged
    async with database.session() as session:
        unmarked = await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
    assert unmarked == 0


async def test_a_batch_the_bus_refused_stays_unpublished_and_leaves_once_it_is_back(database: Database) -> None:
    bus = InMemoryBus([TICKETS])
    relay = OutboxRelay(database=database, bus=bus, metrics=ServiceMetrics("it"))
    staged = await stage(database, 3, 2, uuid.uuid4())
    bus.available = False
    assert await relay.publish_batch() == 0
    async with database.session() as session:
        rows = (await session.execute(select(outbox.c.published_at, outbox.c.attempts, outbox.c.last_error))).all()
    assert len(rows) == 6
    assert all(row.published_at is None and row.attempts == 1 and "switched off" in row.last_error for row in rows)

    bus.available = True
    await relay.flush(timeout=60)
    assert await relay.pending() == 0
    assert [from_kafka(r.value, r.headers).id for r in bus.records(TICKETS.name)] == staged


async def test_a_publish_that_fails_otherwise_marks_nothing(database: Database) -> None:
    bus = InMemoryBus([TICKETS])
    relay = OutboxRelay(database=database, bus=bus, metrics=ServiceMetrics("it"))
    await stage(database, 2, 2, uuid.uuid4())

    async def broken(topic: str, events: Any) -> None:
        raise RuntimeError("the producer crashed mid-batch")

    bus.publish_encoded = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="crashed"):
        await relay.publish_batch()
    assert await relay.pending() == 4, "the claim rolled back with the transaction"
