"""Records as they sit on firstcall's topics, for the ops tests of both tiers."""

from __future__ import annotations

import time
from typing import Any

from shared.bus.delivery import deliver
from shared.bus.port import PoisonEvent, Record, Subscription
from shared.events.catalogue import Event
from shared.events.envelope import CloudEvent, Headers, to_kafka
from tests.factories import ticket_opened


def event_record(event: CloudEvent, *, topic: str = "firstcall.tickets", partition: int = 0, offset: int = 0) -> Record:
    key, value, headers = to_kafka(event)
    return Record(topic, partition, offset, key, value, headers, int(time.time() * 1000))


def opened(correlation_id: str | None = None, **fields: Any) -> CloudEvent:
    """A TicketOpened envelope, with the correlation id of the work that caused it."""
    event: Event = ticket_opened(**fields)
    return event.to_cloudevent().model_copy(update={"correlationid": correlation_id})


async def dead_letter_of(record: Record, *, group: str = "knowledge", error: str = "no such article") -> Record:
    """The record the bus writes to the group's dead-letter topic when its handler refuses `record`."""
    written: list[Headers] = []

    async def refuse(_: CloudEvent) -> None:
        raise PoisonEvent(error)

    async def sink(_: str, __: Record, headers: Headers) -> None:
        written.append(headers)

    subscription = Subscription(group, [record.topic], refuse, f"firstcall.dlt.{group}", max_attempts=1)
    assert await deliver(record, subscription, sink) == "dead_lettered"
    return Record(f"firstcall.dlt.{group}", 0, 7, record.key, record.value, written[0], int(time.time() * 1000))
