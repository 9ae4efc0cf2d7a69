"""A handler whose database is down is not a failed attempt: the event waits for it, never dead-lettered.

docs/decisions/0007-dependency-outage-is-not-a-failed-attempt.md: a PostgreSQL restart used to spend an event's
attempts in seconds and send a sound event to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import cast

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.kafka import KafkaBus, KafkaConsumer
from shared.bus.memory import InMemoryBus
from shared.bus.port import HandlerUnavailable, Record, Subscription
from shared.db import Database, database_unreachable
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent, Headers, encode, from_kafka
from shared.events.topics import TICKETS, dead_letter_topic
from shared.messaging.inbox import EventDispatcher
from shared.messaging.outbox import add_events
from shared.messaging.tables import inbox, outbox
from shared.metrics import ServiceMetrics
from tests.conftest import wait_until
from tests.factories import ticket_opened
from tests.unit.notifier.receivers import free_port
from tests.unit.test_inbox import count

DLT = dead_letter_topic("g")


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus([TICKETS, DLT])
    await bus.start()
    yield bus
    await bus.stop()


def subscription(handler: object, observed: Counter[str], max_attempts: int = 2) -> Subscription:
    return Subscription(
        group="g",
        topics=[TICKETS.name],
        handler=handler,  # type: ignore[arg-type]
        dead_letter_topic=DLT.name,
        max_attempts=max_attempts,
        retry_backoff_ms=1,
        observer=lambda outcome, _: observed.update([outcome]),
    )


class DownFor:
    """A handler whose database refuses connections for its first `calls` calls, then takes the event."""

    def __init__(self, calls: int, error: Exception) -> None:
        self.down_for, self.error = calls, error
        self.calls = 0

    async def __call__(self, event: TicketOpened, session: AsyncSession) -> None:
        self.calls += 1
        if self.calls <= self.down_for:
            raise self.error
        await add_events(session, event)


async def refused_by_a_closed_port() -> Exception:
    """What a real connection attempt to a PostgreSQL that is not there raises."""
    database = Database(f"postgresql+asyncpg://u:p@127.0.0.1:{free_port()}/nothing")
    try:
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return exc
    finally:
        await database.dispose()
    raise AssertionError("a closed port accepted a connection")


async def test_a_refused_connection_means_the_database_is_unreachable() -> None:
    assert database_unreachable(await refused_by_a_closed_port())


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("cannot perform operation: connection is closed"),
        asyncpg.InternalClientError("cannot switch to state 11; another operation (2) is in progress"),
        DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True),
        OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_server_away_restarting_full_or_locked_means_the_database_is_unreachable(error: Exception) -> None:
    assert database_unreachable(error)


def _raised_from(error: Exception, cause: Exception) -> Exception:
    try:
        raise error from cause
    except Exception as exc:
        return exc


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed: inbox.event_id")),
        OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: tickets")),
        asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
        asyncpg.InternalClientError("cannot switch to state 12; another operation (11) is in progress"),
        DBAPIError("SELECT 1", {}, Exception("syntax error"), connection_invalidated=False),
        ValueError("a bug"),
        FileNotFoundError(2, "No such file or directory"),
        _raised_from(httpx.ConnectError("helpdesk down"), ConnectionRefusedError(111, "refused")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_refused_statement_a_bug_or_another_services_outage_is_not_the_databases(error: Exception) -> None:
    assert not database_unreachable(error)


async def test_the_dispatcher_reports_an_unreachable_database_as_an_unavailable_handler(
    messaging_db: Database,
) -> None:
    handler = DownFor(1, await refused_by_a_closed_port())
    dispatcher = EventDispatcher(
        group="g", database=messaging_db, handlers={TicketOpened: handler}, metrics=ServiceMetrics("t")
    )
    with pytest.raises(HandlerUnavailable):
        await dispatcher(ticket_opened().to_cloudevent())


async def test_the_dispatcher_lets_a_handlers_own_failure_through_as_it_is(messaging_db: Database) -> None:
    handler = DownFor(1, ValueError("a bug in the handler"))
    dispatcher = EventDispatcher(
        group="g", database=messaging_db, handlers={TicketOpened: handler}, metrics=ServiceMetrics("t")
    )
    with pytest.raises(ValueError, match="a bug in the handler"):
        await dispatcher(ticket_opened().to_cloudevent())


async def test_an_event_outlasting_its_attempts_in_a_database_outage_is_handled_once_after_it_not_dead_lettered(
    bus: InMemoryBus, messaging_db: Database
) -> None:
    handler = DownFor(7, ConnectionRefusedError(111, "Connect call failed"))
    dispatcher = EventDispatcher(
        group="g", database=messaging_db, handlers={TicketOpened: handler}, metrics=ServiceMetrics("t")
    )
    observed: Counter[str] = Counter()
    await bus.consumer(subscription(dispatcher, observed, max_attempts=2)).start()
    await bus.publish(TICKETS.name, [ticket_opened().to_cloudevent()])
    await bus.wait_idle(timeout=60)
    assert bus.records(DLT.name) == []
    assert handler.calls == 8
    assert observed == Counter(unavailable=7)
    assert await count(messaging_db, inbox) == 1
    assert await count(messaging_db, outbox) == 1


async def test_events_behind_the_one_in_hand_wait_for_the_outage_too_and_keep_their_order(bus: InMemoryBus) -> None:
    order: list[str] = []
    refusals = 5

    async def handler(event: CloudEvent) -> None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise HandlerUnavailable("database unreachable")
        order.append(event.id)

    ticket = ticket_opened()
    events = [ticket.to_cloudevent() for _ in range(4)]
    await bus.consumer(subscription(handler, Counter(), max_attempts=1)).start()
    await bus.publish(TICKETS.name, events)
    await bus.wait_idle(timeout=60)
    assert order == [event.id for event in events]
    assert bus.records(DLT.name) == []


async def test_a_consumer_waiting_for_its_database_stops_when_asked(bus: InMemoryBus) -> None:
    calls = 0

    async def never_up(event: CloudEvent) -> None:
        nonlocal calls
        calls += 1
        raise HandlerUnavailable("database unreachable")

    consumer = bus.consumer(subscription(never_up, Counter()))
    await consumer.start()
    await bus.publish(TICKETS.name, [ticket_opened().to_cloudevent()])
    await wait_until(lambda: _at_least(calls, 3), timeout=60)
    await consumer.stop()
    assert bus.lag("g", [TICKETS.name]) == 1
    assert bus.records(DLT.name) == []


async def _at_least(value: int, least: int) -> bool:
    return value >= least


class FakeKafkaClient:
    """What KafkaConsumer._consume uses of aiokafka's consumer, over fixed partition logs (no broker)."""

    def __init__(self, logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        self.logs = logs
        self.positions = dict.fromkeys(logs, 0)
        self.committed: dict[TopicPartition, int] = {}

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        batch = {tp: log[self.positions[tp] :] for tp, log in self.logs.items() if log[self.positions[tp] :]}
        for tp in batch:
            self.positions[tp] = len(self.logs[tp])
        await asyncio.sleep(0 if batch else 0.01)
        return batch

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.positions[partition] = offset

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.update(offsets)

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    def highwater(self, partition: TopicPartition) -> int:
        return len(self.logs[partition])

    async def position(self, partition: TopicPartition) -> int:
        return self.positions[partition]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RecordingDeadLetters(KafkaConsumer):
    """A Kafka consumer whose dead letters are kept here instead of sent to a broker."""

    dead: list[Record]

    async def _dead_letter(self, topic: str, record: Record, headers: Headers) -> None:
        self.dead.append(record)


def kafka_logs(per_partition: int) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
    logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
    for partition in range(2):
        tp = TopicPartition(TICKETS.name, partition)
        ticket = ticket_opened()
        encoded = [encode(ticket.to_cloudevent()) for _ in range(per_partition)]
        logs[tp] = [
            ConsumerRecord(TICKETS.name, partition, n, 0, 0, e.key, e.value, None, 0, 0, e.headers)
            for n, e in enumerate(encoded)
        ]
    return logs


async def test_a_kafka_consumer_puts_back_the_batch_while_the_handler_is_unavailable_and_handles_each_once_after() -> (
    None
):
    logs = kafka_logs(per_partition=3)
    handled: list[str] = []
    refusals = 4

    async def handler(event: CloudEvent) -> None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise HandlerUnavailable("database unreachable")
        handled.append(event.id)

    bus = KafkaBus(bootstrap_servers="127.0.0.1:1", client_id="unit")
    consumer = RecordingDeadLetters(bus, subscription(handler, Counter(), max_attempts=1))
    consumer.dead = []
    client = FakeKafkaClient(logs)
    running = asyncio.create_task(consumer._consume(cast(AIOKafkaConsumer, client)))
    await wait_until(lambda: _all_committed(client), timeout=60)
    consumer._stopping.set()
    await running
    assert consumer.dead == []
    for log in logs.values():
        ids = [from_kafka(record.value, list(record.headers)).id for record in log]
        assert [i for i in handled if i in ids] == ids


async def _all_committed(client: FakeKafkaClient) -> bool:
    return all(client.committed.get(tp) == len(log) for tp, log in client.logs.items())


class CoordinatorFailing(FakeKafkaClient):
    """A member whose first poll raises what aiokafka's group coordinator raises when the broker dies."""

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        raise KafkaConnectionError("Connection at 127.0.0.1:9092 closed")


class Rejoining(RecordingDeadLetters):
    """A Kafka consumer whose group members are the given fakes, one per (re)join."""

    members: list[FakeKafkaClient]

    def _group_member(self) -> AIOKafkaConsumer:
        return cast(AIOKafkaConsumer, self.members.pop(0))


async def test_a_kafka_consumer_whose_poll_fails_joins_its_group_again_and_goes_on() -> None:
    logs = kafka_logs(per_partition=2)
    handled: list[str] = []

    async def handler(event: CloudEvent) -> None:
        handled.append(event.id)

    bus = KafkaBus(bootstrap_servers="127.0.0.1:1", client_id="unit")
    consumer = Rejoining(bus, subscription(handler, Counter()))
    consumer.dead = []
    second = FakeKafkaClient(logs)
    consumer.members = [CoordinatorFailing(logs), second]
    await consumer.start()
    await wait_until(lambda: _all_committed(second), timeout=60)
    await consumer.stop()
    assert sorted(handled) == sorted(from_kafka(r.value, list(r.headers)).id for log in logs.values() for r in log)


class PollNeverReturns(FakeKafkaClient):
    """A member stuck as aiokafka's getmany is while a rebalance never ends: it waits, with no limit."""

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class CommitNeverReturns(FakeKafkaClient):
    """A member whose first commit waits for a group coordinator that never comes back."""

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await asyncio.Event().wait()


class RejoinNeverHappens(FakeKafkaClient):
    """A member whose coordinator asked for a rejoin that never comes (aiokafka issue #1154): polls return
    empty, for ever."""

    def __init__(self, logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        super().__init__(logs)
        asked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asked.set_result(None)
        self._coordinator = SimpleNamespace(_rejoin_needed_fut=asked)

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        await asyncio.sleep(0.01)
        return {}


@pytest.mark.parametrize("stuck", [PollNeverReturns, CommitNeverReturns, RejoinNeverHappens, "stop"])
async def test_a_kafka_consumer_stalled_in_aiokafka_is_replaced_and_goes_on(
    stuck: type[FakeKafkaClient] | str, caplog: pytest.LogCaptureFixture
) -> None:
    logs = kafka_logs(per_partition=2)
    handled: list[str] = []

    async def handler(event: CloudEvent) -> None:
        handled.append(event.id)

    class StopNeverReturns(PollNeverReturns):
        async def stop(self) -> None:  # leaving the group asks the same stalled coordinator
            await asyncio.Event().wait()

    first = StopNeverReturns(logs) if stuck == "stop" else cast(type[FakeKafkaClient], stuck)(logs)
    consumer = Rejoining(KafkaBus(bootstrap_servers="127.0.0.1:1", client_id="unit"), subscription(handler, Counter()))
    consumer.dead = []
    consumer.stall_seconds = 0.2  # the bound, shortened; nothing below depends on how long a step takes
    second = FakeKafkaClient(logs)
    consumer.members = [first, second]
    with caplog.at_level(logging.ERROR, logger="shared.bus.kafka"):
        await consumer.start()
        await wait_until(lambda: _all_committed(second), timeout=60)
        scraped = ServiceMetrics("g").render().decode()  # ops see it, not only the log
        await consumer.stop()
    assert consumer.rejoins == 1
    assert 'firstcall_consumer_members_replaced_total{group="g"} 1.0' in scraped
    every = [from_kafka(r.value, list(r.headers)).id for log in logs.values() for r in log]
    assert set(handled) == set(every)  # a record handled before a stalled commit comes again: the inbox's job
    if stuck is RejoinNeverHappens:
        assert "consumer g asked to rejoin its group 0.2 s ago and has not" in caplog.text
    else:
        step = "commit" if stuck is CommitNeverReturns else "poll"
        assert f"{step} of consumer g did not end within 0.2 s, waiting in " in caplog.text


async def test_a_handler_that_takes_long_is_named_with_where_it_waits_and_not_cut_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logs = kafka_logs(per_partition=1)
    release, handled = asyncio.Event(), []

    async def handler(event: CloudEvent) -> None:
        await release.wait()
        handled.append(event.id)

    consumer = Rejoining(KafkaBus(bootstrap_servers="127.0.0.1:1", client_id="unit"), subscription(handler, Counter()))
    consumer.dead = []
    consumer.stall_seconds = 0.2  # the bound, shortened; nothing below depends on how long a step takes
    member = FakeKafkaClient(logs)
    consumer.members = [member]
    with caplog.at_level(logging.WARNING, logger="shared.bus.kafka"):
        await consumer.start()
        await wait_until(lambda: _said(caplog, "for over 0.2 s, waiting in deliver:"), timeout=60)
        release.set()
        await wait_until(lambda: _all_committed(member), timeout=60)
        await consumer.stop()
    assert consumer.rejoins == 0  # slow is not stalled: the handler went on and was not cut short
    assert len(handled) == 2


async def _said(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return text in caplog.text
