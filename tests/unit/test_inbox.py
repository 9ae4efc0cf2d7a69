"""The inbox: a consumer group's effects happen once per event, however often it is delivered."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.memory import InMemoryBus
from shared.bus.port import PoisonEvent
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent
from shared.events.topics import TICKETS, dead_letter_topic
from shared.messaging.inbox import EventDispatcher
from shared.messaging.outbox import add_events
from shared.messaging.tables import inbox, outbox
from shared.metrics import ServiceMetrics
from tests.factories import ticket_opened


class Effects:
    """A handler whose effect is an outbox row, so the test can count effects in the database."""

    def __init__(self, fail_times: int = 0) -> None:
        self.calls = 0
        self.fail_times = fail_times

    async def __call__(self, event: TicketOpened, session: AsyncSession) -> None:
        self.calls += 1
        await add_events(session, event)
        if self.calls <= self.fail_times:
            raise RuntimeError("crash after writing, before commit")


def dispatcher(database: Database, handler: Any) -> EventDispatcher:
    return EventDispatcher(
        group="g", database=database, handlers={TicketOpened: handler}, metrics=ServiceMetrics("test")
    )


async def count(database: Database, table: Any) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_redelivered_event_has_no_second_effect(messaging_db: Database) -> None:
    effects = Effects()
    handle = dispatcher(messaging_db, effects)
    envelope = ticket_opened().to_cloudevent()
    await handle(envelope)
    await handle(envelope)
    assert effects.calls == 1
    assert await count(messaging_db, outbox) == 1
    assert await count(messaging_db, inbox) == 1


async def test_a_handler_that_fails_leaves_neither_effects_nor_inbox_entry_so_the_retry_does_it_all(
    messaging_db: Database,
) -> None:
    effects = Effects(fail_times=1)
    handle = dispatcher(messaging_db, effects)
    envelope = ticket_opened().to_cloudevent()
    with pytest.raises(RuntimeError):
        await handle(envelope)
    assert await count(messaging_db, outbox) == 0
    assert await count(messaging_db, inbox) == 0
    await handle(envelope)
    assert await count(messaging_db, outbox) == 1
    assert await count(messaging_db, inbox) == 1


async def test_events_without_a_handler_are_ignored(messaging_db: Database) -> None:
    handle = EventDispatcher(group="g", database=messaging_db, handlers={}, metrics=ServiceMetrics("test"))
    await handle(ticket_opened().to_cloudevent())
    assert await count(messaging_db, inbox) == 0


async def test_invalid_event_data_is_poison(messaging_db: Database) -> None:
    handle = dispatcher(messaging_db, Effects())
    envelope = ticket_opened().to_cloudevent().model_copy(update={"data": {"ticket_id": "nope"}})
    with pytest.raises(PoisonEvent):
        await handle(envelope)


async def test_each_group_has_its_own_inbox(messaging_db: Database) -> None:
    envelope = ticket_opened().to_cloudevent()
    for group in ("knowledge", "notifier"):
        handle = EventDispatcher(
            group=group, database=messaging_db, handlers={TicketOpened: Effects()}, metrics=ServiceMetrics("t")
        )
        await handle(envelope)
    assert await count(messaging_db, inbox) == 2


async def test_events_a_handler_emits_carry_the_correlation_id_of_the_event_it_handled(
    messaging_db: Database,
) -> None:
    bus = InMemoryBus([TICKETS, dead_letter_topic("g")])
    dispatcher = EventDispatcher(
        group="g", database=messaging_db, handlers={TicketOpened: Effects()}, metrics=ServiceMetrics("test")
    )
    consumer = bus.consumer(
        dispatcher.subscription(
            topics=[TICKETS.name], dead_letter_topic=dead_letter_topic("g").name, max_attempts=1, backoff_ms=1
        )
    )
    await consumer.start()
    incoming = ticket_opened().to_cloudevent().model_copy(update={"correlationid": "chat-session-9"})
    await bus.publish(TICKETS.name, [incoming])
    await bus.wait_idle()
    await consumer.stop()
    async with messaging_db.session() as session:
        [raw] = (await session.execute(select(outbox.c.envelope))).scalars().all()
    emitted = CloudEvent.from_json(raw)
    assert emitted.id != incoming.id
    assert emitted.correlationid == "chat-session-9"
