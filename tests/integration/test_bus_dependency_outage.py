"""On the real stack: a consumer whose PostgreSQL connections are cut keeps the event until the database
answers again, however many attempts that outlasts; nothing dead-lettered, the effect once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.kafka import KafkaBus
from shared.bus.port import Subscription
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.events.topics import TICKETS, dead_letter_topic
from shared.messaging.inbox import EventDispatcher
from shared.messaging.outbox import add_events
from shared.messaging.tables import inbox, messaging_metadata, outbox
from shared.metrics import ServiceMetrics
from tests.conftest import wait_until
from tests.factories import ticket_opened
from tests.integration.conftest import prefixed_topics
from tests.stack import KAFKA, read_topic

pytestmark = pytest.mark.integration
CUTS = 6  # three times the attempts the subscription allows


@pytest.fixture
async def bus(topic_prefix: str) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(bootstrap_servers=KAFKA, client_id="it", topics=prefixed_topics(topic_prefix))
    await bus.start(wait_seconds=30)
    yield bus
    await bus.stop()


@pytest.fixture
async def database(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
    yield database
    await database.dispose()


class CutOff:
    """A handler whose server-side session is terminated under it (as a PostgreSQL restart does) `cuts` times."""

    def __init__(self, dsn: str, cuts: int) -> None:
        self.dsn, self.cuts, self.calls = dsn, cuts, 0

    async def __call__(self, event: TicketOpened, session: AsyncSession) -> None:
        self.calls += 1
        await add_events(session, event)
        if self.calls <= self.cuts:
            backend = await session.scalar(text("SELECT pg_backend_pid()"))
            admin = await asyncpg.connect(self.dsn)
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", backend)
            finally:
                await admin.close()
            await session.execute(text("SELECT 1"))


async def count(database: Database, table: Any) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_consumer_cut_off_from_postgresql_beyond_its_attempts_handles_the_event_once_and_dead_letters_nothing(
    bus: KafkaBus, database: Database, topic_prefix: str, pg_url: str
) -> None:
    handler = CutOff(pg_url.replace("postgresql+asyncpg", "postgresql"), CUTS)
    metrics = ServiceMetrics("it")
    dispatcher = EventDispatcher(group="g", database=database, handlers={TicketOpened: handler}, metrics=metrics)
    dead_letters = topic_prefix + dead_letter_topic("knowledge").name
    consumer = bus.consumer(
        Subscription(
            group=topic_prefix + "g",
            topics=[topic_prefix + TICKETS.name],
            handler=dispatcher,
            dead_letter_topic=dead_letters,
            max_attempts=2,
            retry_backoff_ms=20,
            observer=lambda outcome, kind: metrics.events_handled.labels("g", kind, outcome).inc(),
        )
    )
    await consumer.start()
    await bus.publish(topic_prefix + TICKETS.name, [ticket_opened().to_cloudevent()])
    await wait_until(lambda: _handled(database), timeout=120)
    await consumer.stop()
    assert handler.calls == CUTS + 1
    assert await count(database, outbox) == 1
    assert await read_topic(dead_letters) == []
    labels = {"group": "g", "type": "firstcall.ticket.opened", "outcome": "unavailable"}
    assert metrics.registry.get_sample_value("firstcall_events_handled_total", labels) == CUTS


async def _handled(database: Database) -> bool:
    return await count(database, inbox) == 1
