"""`firstcall events tail`: a topic's records as CloudEvents, filtered, from now, an offset or a time."""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.ops import render
from services.ops.errors import NotFound
from services.ops.kafka import KafkaAccess, as_record, partitions_of
from shared.bus.port import Record
from shared.events.base import TYPE_PREFIX
from shared.events.envelope import MalformedEvent, from_kafka
from shared.sealing import shown_sealed


@dataclass(frozen=True)
class EventView:
    """One record as ops read it: where it sits, and its envelope decoded (or why it could not be)."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: str | None
    id: str | None
    type: str | None
    source: str | None
    subject: str | None
    time: datetime | None
    correlation_id: str | None
    data: Any
    malformed: str | None = None


def decode(record: Record) -> EventView:
    """The record's CloudEvent; a record that is none is still shown, with the reason and its raw value."""
    key = record.key.decode("utf-8", errors="replace") if record.key is not None else None
    where = (record.topic, record.partition, record.offset, render.from_millis(record.timestamp_ms), key)
    try:
        event = from_kafka(record.value, record.headers)
    except MalformedEvent as exc:
        raw = (record.value or b"").decode("utf-8", errors="replace")
        return EventView(*where, None, None, None, None, None, None, raw, malformed=str(exc))
    # Customers' personal fields are sealed (shared/sealing.py): shown as such, never as base64 noise.
    data = shown_sealed(event.data)
    return EventView(*where, event.id, event.type, event.source, event.subject, event.time, event.correlationid, data)


@dataclass(frozen=True)
class EventFilter:
    """Which events to show: every given condition must hold (types are alternatives among themselves)."""

    types: Sequence[str] = ()
    subject: str | None = None
    correlation_id: str | None = None

    def matches(self, view: EventView) -> bool:
        if self.types and not any(type_matches(pattern, view.type) for pattern in self.types):
            return False
        if self.subject is not None and view.subject != self.subject:
            return False
        return self.correlation_id is None or view.correlation_id == self.correlation_id


def type_matches(pattern: str, event_type: str | None) -> bool:
    """`ticket.opened`, `firstcall.ticket.opened` and `ticket.*` all name firstcall's TicketOpened."""
    if event_type is None:
        return False
    short = event_type.removeprefix(TYPE_PREFIX)
    return fnmatch.fnmatchcase(event_type, pattern) or fnmatch.fnmatchcase(short, pattern)


@dataclass(frozen=True)
class StartAt:
    """Where reading begins on each partition: its end (now), an offset, or the first record at a time."""

    offset: int | None = None
    since: datetime | None = None

    async def seek(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        ends = await consumer.end_offsets(partitions)
        if self.since is not None:
            found = await consumer.offsets_for_times({tp: int(self.since.timestamp() * 1000) for tp in partitions})
            for tp in partitions:
                at = found.get(tp)
                consumer.seek(tp, at.offset if at is not None else ends[tp])
        elif self.offset is not None:
            begins = await consumer.beginning_offsets(partitions)
            for tp in partitions:
                consumer.seek(tp, min(max(self.offset, begins[tp]), ends[tp]))
        else:
            for tp in partitions:
                consumer.seek(tp, ends[tp])


@dataclass(frozen=True)
class Tail:
    topic: str
    start: StartAt = StartAt()
    only: EventFilter = EventFilter()
    partition: int | None = None
    limit: int | None = None
    until_end: bool = False  # stop once caught up with what the topic held at the start (kcat -e)


async def tail(
    kafka: KafkaAccess, spec: Tail, show: Callable[[EventView], None], ready: asyncio.Event | None = None
) -> int:
    """Show each matching event until the limit, the end (with `until_end`), or forever; the count shown."""
    async with kafka.reader() as consumer:
        partitions = await partitions_of(consumer, kafka.topic(spec.topic))
        if spec.partition is not None:
            partitions = [tp for tp in partitions if tp.partition == spec.partition]
            if not partitions:
                raise NotFound(f"{kafka.topic(spec.topic)} has no partition {spec.partition}")
        consumer.assign(partitions)
        await spec.start.seek(consumer, partitions)
        ends = await consumer.end_offsets(partitions) if spec.until_end else {}
        if ready is not None:
            ready.set()
        shown = 0
        pending = {tp for tp in partitions if not spec.until_end or await consumer.position(tp) < ends[tp]}
        while pending and (spec.limit is None or shown < spec.limit):
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    view = decode(as_record(message))
                    if spec.only.matches(view) and (spec.limit is None or shown < spec.limit):
                        show(view)
                        shown += 1
            if spec.until_end:
                pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return shown


def line(view: EventView) -> str:
    """One event on one line: when, where, what, which aggregate, which work caused it, and its data."""
    where = f"{view.topic}/{view.partition}@{view.offset}"
    if view.malformed is not None:
        return f"{render.timestamp(view.timestamp)}  {where}  (not a CloudEvent: {view.malformed})  {view.data}"
    when = render.timestamp(view.time) if view.time is not None else render.EMPTY
    data = render.json_text(view.data, indent=False)
    return (
        f"{when}  {where}  {view.type}  subject={view.subject}  "
        f"correlation={view.correlation_id or render.EMPTY}  {data}"
    )
