"""The transactional outbox: events leave only after commit, in order, and wait out a bus outage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from shared.bus.memory import InMemoryBus
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.events.envelope import from_kafka
from shared.events.topics import TICKETS
from shared.messaging.outbox import OutboxRelay, add_events
from shared.messaging.tables import outbox
from shared.metrics import ServiceMetrics
from tests.conftest import wait_until
from tests.factories import ticket_opened


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus([TICKETS])
    yield bus
    await bus.stop()


@pytest.fixture
def relay(messaging_db: Database, bus: InMemoryBus) -> OutboxRelay:
    return OutboxRelay(database=messaging_db, bus=bus, metrics=ServiceMetrics("test"), poll_interval=0.05)


async def outbox_rows(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(outbox)) or 0)


async def test_events_of_a_rolled_back_transaction_never_exist(messaging_db: Database, relay: OutboxRelay) -> None:
    async with messaging_db.session() as session:
        await add_events(session, ticket_opened())
        await session.rollback()
    assert await outbox_rows(messaging_db) == 0
    assert await relay.publish_batch() == 0


async def test_committed_events_are_published_in_order_and_marked(
    messaging_db: Database, bus: InMemoryBus, relay: OutboxRelay
) -> None:
    events = [ticket_opened() for _ in range(5)]
    async with messaging_db.session() as session:
        envelopes = await add_events(session, *events)
        await session.commit()
    assert await relay.publish_batch() == 5
    assert await relay.pending() == 0
    published = sorted(bus.records(TICKETS.name), key=lambda r: r.timestamp_ms)
    assert {from_kafka(r.value, r.headers).id for r in published} == {e.id for e in envelopes}
    assert await relay.publish_batch() == 0, "a published event is never published again"


async def test_the_relay_wakes_on_commit_without_waiting_for_its_poll(messaging_db: Database, bus: InMemoryBus) -> None:
    # An hour's poll and a bound of half a minute: only the wake can publish in time, however loaded the machine.
    relay = OutboxRelay(database=messaging_db, bus=bus, metrics=ServiceMetrics("test"), poll_interval=3600)
    await relay.start()
    try:
        async with messaging_db.session() as session:
            await add_events(session, ticket_opened())
            await session.commit()
        await wait_until(lambda: _published(bus), timeout=30)
    finally:
        await relay.stop()


async def _published(bus: InMemoryBus) -> bool:
    return len(bus.records(TICKETS.name)) == 1


async def test_events_wait_in_the_outbox_while_the_bus_is_down_and_leave_when_it_is_back(
    messaging_db: Database, bus: InMemoryBus, relay: OutboxRelay
) -> None:
    bus.available = False
    async with messaging_db.session() as session:
        await add_events(session, ticket_opened(), ticket_opened())
        await session.commit()
    assert await relay.publish_batch() == 0
    assert await relay.pending() == 2
    assert not relay.bus_ok
    async with messaging_db.session() as session:
        attempts = await session.scalar(select(func.max(outbox.c.attempts)))
        error = await session.scalar(select(outbox.c.last_error).limit(1))
    assert attempts == 1
    assert error is not None
    assert "switched off" in error

    bus.available = True
    await relay.flush(timeout=60)
    assert await relay.pending() == 0
    assert relay.bus_ok
    assert len(bus.records(TICKETS.name)) == 2


async def test_stop_flushes_what_is_still_pending(messaging_db: Database, bus: InMemoryBus, relay: OutboxRelay) -> None:
    async with messaging_db.session() as session:
        await add_events(session, *(ticket_opened() for _ in range(3)))
        await session.commit()
    await relay.stop(flush_timeout=2)
    assert len(bus.records(TICKETS.name)) == 3


async def test_concurrent_publishers_in_one_process_publish_each_event_once(
    messaging_db: Database, bus: InMemoryBus, relay: OutboxRelay
) -> None:
    async with messaging_db.session() as session:
        staged = await add_events(session, *(ticket_opened() for _ in range(20)))
        await session.commit()
    await asyncio.gather(*(relay.publish_batch() for _ in range(4)))
    published = [from_kafka(r.value, r.headers).id for r in bus.records(TICKETS.name)]
    assert sorted(published) == sorted(e.id for e in staged)


async def test_an_event_version_replaced_by_a_later_one_cannot_be_published(messaging_db: Database) -> None:
    class Retired(TicketOpened):
        published = False

    async with messaging_db.session() as session:
        with pytest.raises(TypeError, match="no longer published"):
            await add_events(session, Retired(**ticket_opened().model_dump()))
        await session.commit()
    async with messaging_db.session() as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == 0
