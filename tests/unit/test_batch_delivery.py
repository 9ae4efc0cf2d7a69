"""Both bus adapters let a preparing handler see a fetch's records, then deliver each once (decision 0036)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import cast

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.batching import BATCH_RECORDS, PreparingHandler, prepares
from shared.bus.factory import physical_topics
from shared.bus.kafka import KafkaBus
from shared.bus.memory import InMemoryBus
from shared.bus.port import HandlerUnavailable
from shared.events.catalogue import TicketOpened
from shared.events.envelope import CloudEvent, from_kafka
from shared.events.topics import TICKETS
from shared.runtime import assemble_runtime
from tests.conftest import wait_until
from tests.factories import service_settings, ticket_opened
from tests.unit.test_delivery_outage import (
    DLT,
    FakeKafkaClient,
    RecordingDeadLetters,
    _all_committed,
    kafka_logs,
    subscription,
)

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notifier" / "migrations"


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus([TICKETS, DLT])
    await bus.start()
    yield bus
    await bus.stop()


class Timeline:
    """A handler and its preparation, writing down in one list what each was given, in order."""

    def __init__(self, *, failing_prepare: bool = False, unavailable_at: str | None = None) -> None:
        self.steps: list[tuple[str, tuple[str, ...]]] = []
        self.failing_prepare = failing_prepare
        self.unavailable_at = unavailable_at  # this event's first delivery finds the database down

    async def prepare(self, events: Sequence[CloudEvent]) -> None:
        self.steps.append(("prepare", tuple(event.id for event in events)))
        if self.failing_prepare:
            raise RuntimeError("the encoder is broken")

    async def handle(self, event: CloudEvent) -> None:
        if event.id == self.unavailable_at:
            self.unavailable_at = None
            raise HandlerUnavailable("database unreachable")
        self.steps.append(("handle", (event.id,)))

    def of(self, ids: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
        """The steps that concern these events only (another partition's are interleaved or not)."""
        return [step for step in self.steps if set(step[1]) <= set(ids)]

    def handled(self) -> list[str]:
        return [ids[0] for kind, ids in self.steps if kind == "handle"]


def expected(ids: Sequence[str], *chunks: tuple[int, int]) -> list[tuple[str, tuple[str, ...]]]:
    """Each chunk [start, end) prepared, then its records handled one by one."""
    steps: list[tuple[str, tuple[str, ...]]] = []
    for start, end in chunks:
        steps.append(("prepare", tuple(ids[start:end])))
        steps.extend(handles(ids[start:end]))
    return steps


def handles(ids: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    return [("handle", (event_id,)) for event_id in ids]


def same_ticket_events(count: int) -> list[CloudEvent]:
    ticket = ticket_opened()
    return [ticket.to_cloudevent() for _ in range(count)]  # one key, so one partition, in this order


async def consume_from_fake_kafka(
    timeline: Timeline, logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
) -> None:
    """Run a Kafka group member over a fake broker until everything is committed."""
    bus = KafkaBus(bootstrap_servers="127.0.0.1:1", client_id="unit")
    handler = PreparingHandler(timeline.handle, timeline.prepare)
    consumer = RecordingDeadLetters(bus, subscription(handler, Counter(), max_attempts=1))
    consumer.dead = []
    client = FakeKafkaClient(logs)
    running = asyncio.create_task(consumer._consume(cast(AIOKafkaConsumer, client)))
    await wait_until(lambda: _all_committed(client), timeout=60)
    consumer._stopping.set()
    await running
    assert consumer.dead == []


def event_ids(logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> list[list[str]]:
    return [[from_kafka(r.value, list(r.headers)).id for r in log] for log in logs.values()]


async def test_a_kafka_fetch_is_prepared_once_per_chunk_and_each_record_handled_once_in_order() -> None:
    timeline = Timeline()
    logs = kafka_logs(per_partition=BATCH_RECORDS + 8)
    await consume_from_fake_kafka(timeline, logs)
    partitions = event_ids(logs)
    for ids in partitions:
        assert timeline.of(ids) == expected(ids, (0, BATCH_RECORDS), (BATCH_RECORDS, BATCH_RECORDS + 8))
    assert sorted(timeline.handled()) == sorted(i for ids in partitions for i in ids)


async def test_a_kafka_record_put_back_is_prepared_again_with_its_followers_and_still_handled_once() -> None:
    size = BATCH_RECORDS + 8
    logs = kafka_logs(per_partition=size)
    first, second = event_ids(logs)
    timeline = Timeline(unavailable_at=first[2])
    await consume_from_fake_kafka(timeline, logs)
    # The third record of the first partition found its database down: it and the records after it came
    # back in the next fetch and were prepared again from there; nothing was handled twice or skipped.
    assert timeline.of(first) == [
        ("prepare", tuple(first[:BATCH_RECORDS])),
        *handles(first[:2]),
        *expected(first, (2, 2 + BATCH_RECORDS), (2 + BATCH_RECORDS, size)),
    ]
    assert timeline.of(second) == expected(second, (0, BATCH_RECORDS), (BATCH_RECORDS, size))
    assert Counter(timeline.handled()) == Counter(first + second)


async def test_the_memory_bus_prepares_what_waits_in_a_partition_and_handles_each_once(bus: InMemoryBus) -> None:
    timeline = Timeline()
    events = same_ticket_events(BATCH_RECORDS + 8)
    await bus.publish(TICKETS.name, events)  # waiting before the member starts: one drain finds them all
    await bus.consumer(subscription(PreparingHandler(timeline.handle, timeline.prepare), Counter())).start()
    await bus.wait_idle(timeout=60)
    ids = [event.id for event in events]
    assert timeline.steps == expected(ids, (0, BATCH_RECORDS), (BATCH_RECORDS, BATCH_RECORDS + 8))


async def test_a_failing_preparation_leaves_every_record_handled_once_in_order(bus: InMemoryBus) -> None:
    timeline = Timeline(failing_prepare=True)
    events = same_ticket_events(BATCH_RECORDS + 3)
    await bus.publish(TICKETS.name, events)
    await bus.consumer(subscription(PreparingHandler(timeline.handle, timeline.prepare), Counter())).start()
    await bus.wait_idle(timeout=60)
    assert timeline.handled() == [event.id for event in events]
    assert [len(ids) for kind, ids in timeline.steps if kind == "prepare"] == [BATCH_RECORDS, 3]
    assert bus.records(DLT.name) == []


async def test_a_handler_that_does_not_prepare_is_delivered_to_as_before(bus: InMemoryBus) -> None:
    class PrepareByName:
        """Has a `prepare` but is no PreparingHandler: nothing may call it."""

        def __init__(self) -> None:
            self.timeline = Timeline()
            self.prepare = self.timeline.prepare

        async def __call__(self, event: CloudEvent) -> None:
            await self.timeline.handle(event)

    handler = PrepareByName()
    plain = subscription(handler, Counter())
    assert not prepares(plain)
    events = same_ticket_events(5)
    await bus.publish(TICKETS.name, events)
    await bus.consumer(plain).start()
    await bus.wait_idle(timeout=60)
    assert handler.timeline.steps == handles([event.id for event in events])


async def _nothing(event: TicketOpened, session: AsyncSession) -> None:
    return None


async def _prepare_nothing(events: Sequence[CloudEvent]) -> None:
    return None


@pytest.mark.parametrize("prepare", [None, _prepare_nothing], ids=["without", "with"])
async def test_the_runtime_wraps_the_dispatcher_only_for_a_group_that_prepares(tmp_path: Path, prepare: object) -> None:
    settings = service_settings("notifier", data_dir=tmp_path)
    runtime = assemble_runtime(
        settings,
        migrations=MIGRATIONS,
        handlers={TicketOpened: _nothing},
        bus=InMemoryBus(physical_topics(settings)),
        prepare=prepare,  # type: ignore[arg-type]
    )
    (binding,) = runtime.consumers
    assert binding.prepare is prepare
    await runtime.start()
    try:
        (consumer,) = runtime._running
        handler = consumer.subscription.handler  # type: ignore[attr-defined]
        if prepare is None:
            assert handler is binding.dispatcher
        else:
            assert isinstance(handler, PreparingHandler)
            assert handler.handler is binding.dispatcher
            assert handler.prepare is not None  # `prepare`, given events opened first: test_prepare_opens_sealed.py
    finally:
        await runtime.stop()
