"""The Kafka bus on a real broker: groups, ordering, redelivery without second effects, dead letters."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.kafka import KafkaBus, KafkaConsumer
from shared.bus.port import Subscription
from shared.db import Database
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent, from_kafka
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


@pytest.fixture
async def bus(topic_prefix: str) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(bootstrap_servers=KAFKA, client_id="it", topics=prefixed_topics(topic_prefix))
    await bus.start(wait_seconds=30)
    assert (await bus.health()).ok
    yield bus
    await bus.stop()


@pytest.fixture
async def database(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
    yield database
    await database.dispose()


def subscribe(bus: KafkaBus, prefix: str, group: str, handler: Any, max_attempts: int = 5) -> KafkaConsumer:
    consumer = bus.consumer(
        Subscription(
            group=prefix + group,
            topics=[prefix + TICKETS.name],
            handler=handler,
            dead_letter_topic=prefix + dead_letter_topic("knowledge").name,
            max_attempts=max_attempts,
            retry_backoff_ms=20,
        )
    )
    assert isinstance(consumer, KafkaConsumer)
    return consumer


async def test_every_group_receives_every_event_in_order_per_subject(bus: KafkaBus, topic_prefix: str) -> None:
    seen: dict[str, list[CloudEvent]] = {"a": [], "b": []}
    consumers = []
    for group, received in seen.items():

        async def record(event: CloudEvent, received: list[CloudEvent] = received) -> None:
            received.append(event)

        consumer = subscribe(bus, topic_prefix, group, record)
        await consumer.start()
        consumers.append(consumer)
    tickets = [ticket_opened() for _ in range(4)]
    events = [t.to_cloudevent() for _ in range(5) for t in tickets]
    await bus.publish(topic_prefix + TICKETS.name, events)
    for received in seen.values():
        await wait_until(functools.partial(_at_least, received, len(events)), timeout=30)
    for consumer in consumers:
        await consumer.stop()
    for received in seen.values():
        assert sorted(e.id for e in received) == sorted(e.id for e in events)
        for ticket in tickets:
            subject = str(ticket.ticket_id)
            assert [e.id for e in received if e.subject == subject] == [e.id for e in events if e.subject == subject]


async def _at_least(items: list[Any], n: int) -> bool:
    return len(items) >= n


class WritesThenFails:
    """A real handler effect (an outbox row in PostgreSQL) followed by a failure, the first `times` calls."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls = 0

    async def __call__(self, event: TicketOpened, session: AsyncSession) -> None:
        self.calls += 1
        await add_events(session, event)
        await session.flush()
        if self.calls <= self.times:
            raise RuntimeError("lost the database connection mid-transaction")


async def count(database: Database, table: Any) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_failing_handler_is_retried_and_its_effect_happens_exactly_once(
    bus: KafkaBus, database: Database, topic_prefix: str
) -> None:
    handler = WritesThenFails(times=2)
    dispatcher = EventDispatcher(
        group="g", database=database, handlers={TicketOpened: handler}, metrics=ServiceMetrics("it")
    )
    consumer = subscribe(bus, topic_prefix, "g", dispatcher)
    await consumer.start()
    await bus.publish(topic_prefix + TICKETS.name, [ticket_opened().to_cloudevent()])
    await wait_until(lambda: _count_is(database, inbox, 1), timeout=30)
    await consumer.stop()
    assert handler.calls == 3
    assert await count(database, outbox) == 1


async def _count_is(database: Database, table: Any, n: int) -> bool:
    return await count(database, table) == n


async def test_an_event_redelivered_after_a_crash_before_the_offset_commit_has_no_second_effect(
    bus: KafkaBus, database: Database, topic_prefix: str
) -> None:
    calls: Counter[str] = Counter()
    committed_effect = asyncio.Event()

    async def effect(event: TicketOpened, session: AsyncSession) -> None:
        calls["effect"] += 1
        await add_events(session, event)

    dispatcher = EventDispatcher(
        group="g", database=database, handlers={TicketOpened: effect}, metrics=ServiceMetrics("it")
    )

    async def crash_after_commit(envelope: CloudEvent) -> None:
        await dispatcher(envelope)
        committed_effect.set()
        await asyncio.Event().wait()  # the process "dies" here: the offset is never committed

    first = subscribe(bus, topic_prefix, "g", crash_after_commit)
    await first.start()
    await bus.publish(topic_prefix + TICKETS.name, [ticket_opened().to_cloudevent()])
    await asyncio.wait_for(committed_effect.wait(), 30)
    assert first._task is not None
    first._task.cancel()  # a crash: no offset commit, no clean hand-over
    await asyncio.gather(first._task, return_exceptions=True)

    second = subscribe(bus, topic_prefix, "g", dispatcher)
    await second.start()
    await wait_until(lambda: _duplicates_seen(dispatcher), timeout=60)
    await second.stop()
    assert calls["effect"] == 1
    assert await count(database, outbox) == 1


async def _duplicates_seen(dispatcher: EventDispatcher) -> bool:
    labels = {"group": "g", "type": "firstcall.ticket.opened", "outcome": "duplicate"}
    return (dispatcher.metrics.registry.get_sample_value("firstcall_events_handled_total", labels) or 0) >= 1


async def test_after_the_retry_budget_the_event_is_dead_lettered_and_the_consumer_goes_on(
    bus: KafkaBus, topic_prefix: str
) -> None:
    bad, good = ticket_opened().to_cloudevent(), ticket_opened().to_cloudevent()
    handled: list[str] = []

    async def handler(event: CloudEvent) -> None:
        if event.id == bad.id:
            raise ValueError("this event cannot be handled")
        handled.append(event.id)

    consumer = subscribe(bus, topic_prefix, "g", handler, max_attempts=3)
    await consumer.start()
    await bus.publish(topic_prefix + TICKETS.name, [bad])
    await bus.publish(topic_prefix + TICKETS.name, [good])
    dead_letters = topic_prefix + dead_letter_topic("knowledge").name
    await wait_until(lambda: _at_least(handled, 1), timeout=30)
    [dead] = await wait_until(lambda: read_topic(dead_letters), timeout=30)
    await consumer.stop()
    headers = dict(dead.headers)
    assert from_kafka(dead.value, dead.headers).id == bad.id
    assert b"ValueError: this event cannot be handled" in headers["firstcall_dlt_error"]
    assert headers["firstcall_dlt_attempts"] == b"3"
    assert handled == [good.id]


async def test_a_consumer_group_resumes_from_its_committed_offset(bus: KafkaBus, topic_prefix: str) -> None:
    seen: list[str] = []

    async def record(event: CloudEvent) -> None:
        seen.append(event.id)

    first_batch = [ticket_opened().to_cloudevent() for _ in range(3)]
    consumer = subscribe(bus, topic_prefix, "g", record)
    await consumer.start()
    await bus.publish(topic_prefix + TICKETS.name, first_batch)
    await wait_until(lambda: _at_least(seen, 3), timeout=30)
    await consumer.stop()

    second_batch = [ticket_opened().to_cloudevent() for _ in range(2)]
    await bus.publish(topic_prefix + TICKETS.name, second_batch)
    consumer = subscribe(bus, topic_prefix, "g", record)
    await consumer.start()
    await wait_until(lambda: _at_least(seen, 5), timeout=30)
    await asyncio.sleep(1)  # room for any wrongly repeated delivery to show up
    await consumer.stop()
    assert sorted(seen) == sorted(e.id for e in first_batch + second_batch)
