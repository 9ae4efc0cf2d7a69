"""`events tail` and `lag` on a real broker."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.ops.events import EventView, StartAt, Tail, tail
from services.ops.kafka import KafkaAccess
from shared.bus.kafka import KafkaBus
from shared.events.topics import TICKETS
from tests.integration.ops.conftest import Firstcall
from tests.stack import KAFKA, read_topic
from tests.unit.ops.records import opened

pytestmark = pytest.mark.integration


async def test_tail_shows_the_events_that_match_every_filter(
    bus: KafkaBus, topic_prefix: str, firstcall: Firstcall
) -> None:
    first, second = opened("call-a"), opened("call-b")
    assigned = second.model_copy(update={"id": str(uuid.uuid4()), "type": "firstcall.ticket.assigned"})
    await bus.publish(topic_prefix + TICKETS.name, [first, second, assigned])

    by_subject = await firstcall(
        "events", "tail", "tickets", "--from-beginning", "--until-end", "--json", "--subject", second.subject
    )
    assert by_subject.code == 0
    assert [e["id"] for e in by_subject.json_lines()] == [second.id, assigned.id]

    by_type = await firstcall(
        "events",
        "tail",
        "firstcall.tickets",
        "--from-beginning",
        "--until-end",
        "--json",
        "--type",
        "ticket.opened",
        "--correlation-id",
        "call-b",
    )
    [only] = by_type.json_lines()
    assert only["id"] == second.id
    assert only["subject"] == second.subject
    assert only["data"]["ticket_id"] == second.subject

    since = await firstcall("events", "tail", "tickets", "--since", "1h", "--limit", "2")
    assert since.code == 0
    assert len(since.out.splitlines()) == 2
    assert "firstcall.ticket.opened" in since.out


async def test_tail_from_now_shows_only_what_is_published_after_it_started(bus: KafkaBus, topic_prefix: str) -> None:
    before, after = opened("before"), opened("after")
    await bus.publish(topic_prefix + TICKETS.name, [before])
    shown: list[EventView] = []
    ready = asyncio.Event()
    spec = Tail("tickets", StartAt(), limit=1)
    following = asyncio.create_task(tail(KafkaAccess(KAFKA, prefix=topic_prefix), spec, shown.append, ready))
    await asyncio.wait_for(ready.wait(), 60)
    await bus.publish(topic_prefix + TICKETS.name, [after])
    assert await asyncio.wait_for(following, 60) == 1
    assert [view.id for view in shown] == [after.id]


async def test_an_unknown_topic_or_partition_is_not_found(bus: KafkaBus, firstcall: Firstcall) -> None:
    ran = await firstcall("events", "tail", "nosuchtopic", "--until-end")
    assert ran.code == 3
    assert "nosuchtopic" in ran.err
    assert (await firstcall("events", "tail", "tickets", "--partition", "99", "--until-end")).code == 3


async def test_lag_reads_the_groups_committed_and_end_offsets_and_the_oldest_waiting_event(
    bus: KafkaBus, topic_prefix: str, firstcall: Firstcall
) -> None:
    ticket_id = uuid.uuid4()
    await bus.publish(topic_prefix + TICKETS.name, [opened(ticket_id=ticket_id) for _ in range(5)])
    partition = await _partition_holding_records(topic_prefix + TICKETS.name)
    await _commit(topic_prefix + "knowledge", TopicPartition(topic_prefix + TICKETS.name, partition), 2)

    await _commit(topic_prefix + "notifier", TopicPartition(topic_prefix + TICKETS.name, partition), 1)

    ran = await firstcall("lag", "--group", "knowledge", "--group", "notifier", "--group", "router", "--json")

    assert ran.code == 0
    knowledge, notifier, router = ran.json()
    assert (notifier["group"], notifier["total"]) == ("notifier", 4)
    assert (knowledge["group"], knowledge["known"], knowledge["total"]) == ("knowledge", True, 3)
    rows = {row["partition"]: row for row in knowledge["partitions"]}
    assert len(rows) == TICKETS.partitions
    assert (rows[partition]["committed"], rows[partition]["end"], rows[partition]["lag"]) == (2, 5, 3)
    assert rows[partition]["oldest_age_seconds"] >= 0
    others = [row for p, row in rows.items() if p != partition]
    assert all(row["lag"] == 0 and row["oldest_age_seconds"] is None for row in others)
    assert (router["group"], router["known"], router["partitions"]) == ("router", False, [])
    table = await firstcall("lag", "--group", "knowledge")
    assert f"knowledge  {topic_prefix}firstcall.tickets" in table.out


async def _partition_holding_records(topic: str) -> int:
    """The one partition the events of one subject (the key) went to."""
    [partition] = {int(record.partition) for record in await read_topic(topic)}
    return partition


async def _commit(group: str, tp: TopicPartition, offset: int) -> None:
    """What a consumer group member does after handling `offset` records of a partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False, group_id=group)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()
