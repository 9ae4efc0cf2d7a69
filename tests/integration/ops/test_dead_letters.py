"""A real consumer group dead-letters an event; ops list it, show it and replay it, once."""

from __future__ import annotations

import functools

import pytest

from shared.bus.kafka import KafkaBus
from shared.bus.port import PoisonEvent, Subscription
from shared.events.envelope import CloudEvent
from shared.events.topics import TICKETS, dead_letter_topic
from tests.conftest import wait_until
from tests.integration.ops.conftest import Firstcall
from tests.stack import read_topic
from tests.unit.ops.records import opened

pytestmark = pytest.mark.integration


async def dead_lettered(bus: KafkaBus, prefix: str, groups: tuple[str, ...] = ("knowledge",)) -> CloudEvent:
    """One event each of the groups refuses, on each group's dead-letter topic."""

    async def refuse(event: CloudEvent) -> None:
        raise PoisonEvent(f"no article for {event.subject}")

    consumers = [
        bus.consumer(
            Subscription(
                group=prefix + group,
                topics=[prefix + TICKETS.name],
                handler=refuse,
                dead_letter_topic=prefix + dead_letter_topic(group).name,
                retry_backoff_ms=10,
            )
        )
        for group in groups
    ]
    for consumer in consumers:
        await consumer.start()
    event = opened("call-dl")
    await bus.publish(prefix + TICKETS.name, [event])
    for group in groups:
        await wait_until(functools.partial(read_topic, prefix + dead_letter_topic(group).name), timeout=60)
    for consumer in consumers:
        await consumer.stop()
    return event


async def test_a_dead_letter_is_listed_shown_and_replayed_to_its_origin_once(
    bus: KafkaBus, topic_prefix: str, firstcall: Firstcall
) -> None:
    event = await dead_lettered(bus, topic_prefix)
    tickets = topic_prefix + TICKETS.name

    listed = await firstcall("dead-letters", "list", "--json")
    assert listed.code == 0
    [letter] = listed.json()
    assert letter["id"] == "knowledge/0/0"
    assert letter["attempts"] == 1
    assert letter["reason"] == f"shared.bus.port.PoisonEvent: no article for {event.subject}"
    assert letter["origin"]["topic"] == tickets
    assert (letter["event"]["id"], letter["event"]["correlation_id"], letter["replayed"]) == (event.id, "call-dl", None)
    table = await firstcall("dead-letters", "list")
    assert "knowledge/0/0" in table.out
    assert "no article for" in table.out

    shown = await firstcall("dead-letters", "show", "knowledge/0/0")
    assert shown.code == 0
    assert f"no article for {event.subject}" in shown.out
    assert f"{tickets}/" in shown.out

    dry = await firstcall("dead-letters", "replay", "knowledge/0/0", "--dry-run")
    assert dry.code == 0
    assert "would replay  knowledge/0/0" in dry.out
    assert len(await read_topic(tickets)) == 1

    first = await firstcall("dead-letters", "replay", "knowledge/0/0")
    assert first.code == 0
    assert "replayed  knowledge/0/0 -> " in first.out
    original, replayed = sorted(await read_topic(tickets), key=lambda r: r.timestamp)
    assert replayed.key == original.key
    assert replayed.value == original.value
    assert dict(replayed.headers)["ce_id"] == event.id.encode()
    assert dict(replayed.headers)["firstcall_replayed_from"] == b"knowledge/0/0"
    assert not [name for name, _ in replayed.headers if name.startswith("firstcall_dlt_")]

    again = await firstcall("dead-letters", "replay", "--all", "--json")
    assert again.code == 0
    [result] = again.json_lines()
    assert result["outcome"] == "already_replayed"
    assert len(await read_topic(tickets)) == 2
    assert (await firstcall("dead-letters", "list", "--not-replayed", "--json")).json() == []


async def test_replaying_a_letter_that_does_not_exist_sends_nothing(
    bus: KafkaBus, topic_prefix: str, firstcall: Firstcall
) -> None:
    await dead_lettered(bus, topic_prefix)
    ran = await firstcall("dead-letters", "replay", "knowledge/0/0", "knowledge/0/5")
    assert ran.code == 3
    assert "knowledge/0/5" in ran.err
    assert len(await read_topic(topic_prefix + TICKETS.name)) == 1
    assert (await firstcall("dead-letters", "show", "knowledge/0/5")).code == 3


async def test_letters_of_one_event_from_two_groups_are_listed_and_go_back_as_one_record(
    bus: KafkaBus, topic_prefix: str, firstcall: Firstcall
) -> None:
    await dead_lettered(bus, topic_prefix, ("knowledge", "notifier"))

    listed = await firstcall("dead-letters", "list", "--json")
    assert sorted(letter["id"] for letter in listed.json()) == ["knowledge/0/0", "notifier/0/0"]

    replayed = (await firstcall("dead-letters", "replay", "--all", "--json")).json_lines()
    assert sorted(r["letter_id"] for r in replayed) == ["knowledge/0/0", "notifier/0/0"]
    assert {r["outcome"] for r in replayed} == {"replayed"}
    assert len({r["to"] for r in replayed}) == 1
    assert len(await read_topic(topic_prefix + TICKETS.name)) == 2
