"""The in-memory bus keeps Kafka's contract: partitions, groups, at-least-once, dead letters."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from shared import logs
from shared.bus.memory import InMemoryBus
from shared.bus.port import BusUnavailable, PoisonEvent, Subscription
from shared.events.envelope import CloudEvent
from shared.events.topics import TopicSpec
from tests.factories import ticket_opened

TOPIC = TopicSpec("test.events", 3, 60_000, "test")
DLT = TopicSpec("test.dlt", 1, 60_000, "test dead letters")


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBus]:
    bus = InMemoryBus([TOPIC, DLT])
    await bus.start()
    yield bus
    await bus.stop()


def subscription(group: str, handler: object, **kwargs: object) -> Subscription:
    return Subscription(
        group=group,
        topics=[TOPIC.name],
        handler=handler,  # type: ignore[arg-type]
        dead_letter_topic=DLT.name,
        retry_backoff_ms=1,
        **kwargs,  # type: ignore[arg-type]
    )


def envelopes_for(ticket_count: int, per_ticket: int) -> list[CloudEvent]:
    tickets = [ticket_opened() for _ in range(ticket_count)]
    return [t.to_cloudevent() for _ in range(per_ticket) for t in tickets]


async def test_every_consumer_group_receives_every_event(bus: InMemoryBus) -> None:
    seen: dict[str, list[str]] = {"knowledge": [], "notifier": []}

    async def record(group: str, event: CloudEvent) -> None:
        seen[group].append(event.id)

    for group in seen:
        await bus.consumer(subscription(group, lambda e, g=group: record(g, e))).start()
    events = envelopes_for(5, 2)
    await bus.publish(TOPIC.name, events)
    await bus.wait_idle()
    for ids in seen.values():
        assert sorted(ids) == sorted(e.id for e in events)


async def test_events_of_one_subject_arrive_in_publication_order(bus: InMemoryBus) -> None:
    order: list[tuple[str, str]] = []

    async def record(event: CloudEvent) -> None:
        order.append((event.subject, event.id))

    await bus.consumer(subscription("g", record)).start()
    events = envelopes_for(4, 5)
    await bus.publish(TOPIC.name, events)
    await bus.wait_idle()
    for subject in {e.subject for e in events}:
        assert [i for s, i in order if s == subject] == [e.id for e in events if e.subject == subject]


async def test_a_failing_handler_gets_the_event_again_until_it_succeeds(bus: InMemoryBus) -> None:
    attempts: Counter[str] = Counter()
    done: list[str] = []

    async def flaky(event: CloudEvent) -> None:
        attempts[event.id] += 1
        if attempts[event.id] < 3:
            raise RuntimeError("database hiccup")
        done.append(event.id)

    await bus.consumer(subscription("g", flaky, max_attempts=5)).start()
    [event] = envelopes_for(1, 1)
    await bus.publish(TOPIC.name, [event])
    await bus.wait_idle()
    assert attempts[event.id] == 3
    assert done == [event.id]
    assert bus.records(DLT.name) == []


async def test_after_the_retry_budget_the_event_is_dead_lettered_with_its_error_and_the_consumer_goes_on(
    bus: InMemoryBus,
) -> None:
    handled: list[str] = []
    [bad, good] = envelopes_for(2, 1)

    async def handler(event: CloudEvent) -> None:
        if event.id == bad.id:
            raise ValueError("cannot handle this one")
        handled.append(event.id)

    await bus.consumer(subscription("g", handler, max_attempts=3)).start()
    await bus.publish(TOPIC.name, [bad, good])
    await bus.wait_idle()
    assert handled == [good.id]
    [dead] = bus.records(DLT.name)
    headers = dict(dead.headers)
    assert headers["ce_id"] == bad.id.encode()
    assert b"ValueError: cannot handle this one" in headers["firstcall_dlt_error"]
    assert headers["firstcall_dlt_attempts"] == b"3"
    assert headers["firstcall_dlt_group"] == b"g"


async def test_a_poison_event_is_dead_lettered_without_retries(bus: InMemoryBus) -> None:
    calls: list[str] = []

    async def handler(event: CloudEvent) -> None:
        calls.append(event.id)
        raise PoisonEvent("invalid data")

    await bus.consumer(subscription("g", handler, max_attempts=5)).start()
    await bus.publish(TOPIC.name, envelopes_for(1, 1))
    await bus.wait_idle()
    assert len(calls) == 1
    assert len(bus.records(DLT.name)) == 1


async def test_a_record_that_is_not_a_cloudevent_goes_to_the_dead_letter_topic(bus: InMemoryBus) -> None:
    calls: list[str] = []

    async def handler(event: CloudEvent) -> None:
        calls.append(event.id)

    await bus.consumer(subscription("g", handler)).start()
    bus.append(TOPIC.name, b"k", b"garbage", [("ce_type", b"x")])
    await bus._wake()
    await bus.wait_idle()
    assert calls == []
    [dead] = bus.records(DLT.name)
    assert dead.value == b"garbage"


async def test_members_of_one_group_share_the_partitions_and_see_each_event_once(bus: InMemoryBus) -> None:
    seen: list[tuple[int, str]] = []

    def member(n: int) -> Subscription:
        async def handler(event: CloudEvent) -> None:
            seen.append((n, event.id))

        return subscription("shared", handler)

    await bus.consumer(member(1)).start()
    await bus.consumer(member(2)).start()
    events = envelopes_for(30, 1)
    await bus.publish(TOPIC.name, events)
    await bus.wait_idle()
    assert sorted(i for _, i in seen) == sorted(e.id for e in events)
    assert {n for n, _ in seen} == {1, 2}


async def test_a_group_that_joins_later_reads_from_the_beginning(bus: InMemoryBus) -> None:
    events = envelopes_for(3, 1)
    await bus.publish(TOPIC.name, events)
    seen: list[str] = []

    async def handler(event: CloudEvent) -> None:
        seen.append(event.id)

    await bus.consumer(subscription("late", handler)).start()
    await bus.wait_idle()
    assert sorted(seen) == sorted(e.id for e in events)


async def test_publishing_to_an_undeclared_topic_fails_like_kafka_without_auto_create(bus: InMemoryBus) -> None:
    with pytest.raises(BusUnavailable, match="unknown topic"):
        await bus.publish("not.declared", envelopes_for(1, 1))


async def test_a_switched_off_bus_refuses_publishing_and_reports_unhealthy(bus: InMemoryBus) -> None:
    bus.available = False
    with pytest.raises(BusUnavailable):
        await bus.publish(TOPIC.name, envelopes_for(1, 1))
    assert not (await bus.health()).ok


async def test_stopping_a_consumer_finishes_the_event_in_hand_and_commits_it(bus: InMemoryBus) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def slow(event: CloudEvent) -> None:
        started.set()
        await release.wait()
        finished.append(event.id)

    consumer = bus.consumer(subscription("g", slow))
    await consumer.start()
    [event] = envelopes_for(1, 1)
    await bus.publish(TOPIC.name, [event])
    await started.wait()
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0.01)
    release.set()
    await stopping
    assert finished == [event.id]
    assert bus.lag("g", [TOPIC.name]) == 0


async def test_a_handler_logs_as_its_service_whatever_the_group_id(bus: InMemoryBus) -> None:
    # Group ids carry the environment's topic prefix; log lines must still name the service.
    seen: dict[str, str | None] = {}

    def recorder(name: str) -> Callable[[CloudEvent], Awaitable[None]]:
        async def handle(_: CloudEvent) -> None:
            seen[name] = logs.current_service()

        return handle

    named = bus.consumer(subscription("env1.notifier", recorder("named"), service="notifier"))
    plain = bus.consumer(subscription("knowledge", recorder("plain")))
    for consumer in (named, plain):
        await consumer.start()
    await bus.publish(TOPIC.name, [ticket_opened().to_cloudevent()])
    await bus.wait_idle(5)
    for consumer in (named, plain):
        await consumer.stop()
    assert seen == {"named": "notifier", "plain": "knowledge"}
