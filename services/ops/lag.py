"""`firstcall lag`: how far each firstcall consumer group is behind, read from Kafka itself.

Committed offsets come from the group coordinator, end offsets from the partition leaders, and the oldest
unconsumed event's age from the timestamp of the record at the committed offset (when the outbox relay
published it). A group with no member still has its offsets, so a stopped service shows its lag growing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.ops.errors import NotFound
from services.ops.kafka import KafkaAccess, partitions_of, read_ranges
from shared.events.topics import CONSUMER_GROUPS


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here, and will start at the beginning
    end: int
    lag: int
    oldest_age_seconds: float | None  # None when nothing waits


@dataclass(frozen=True)
class GroupLag:
    group: str
    known: bool  # False: Kafka has no offsets for the group (its service never consumed, or another prefix)
    partitions: list[PartitionLag] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(p.lag for p in self.partitions)


def partition_lag(
    tp: TopicPartition, *, committed: int | None, begin: int, end: int, oldest_ms: int | None, now_ms: int
) -> PartitionLag:
    """The numbers for one partition; a committed offset below the retained log counts from its beginning."""
    position = begin if committed is None else max(committed, begin)
    lag = max(end - position, 0)
    age = max(now_ms - oldest_ms, 0) / 1000 if lag and oldest_ms is not None else None
    return PartitionLag(tp.topic, tp.partition, committed, end, lag, age)


async def consumer_lag(kafka: KafkaAccess, groups: Sequence[str] = CONSUMER_GROUPS) -> list[GroupLag]:
    """Every named group's lag on every partition of the topics it has committed on."""
    async with kafka.admin() as admin:
        existing = {entry[0] for entry in await admin.list_consumer_groups()}
        committed: dict[str, dict[TopicPartition, int]] = {}
        for name in groups:
            if kafka.group(name) in existing:
                offsets = await admin.list_consumer_group_offsets(kafka.group(name))
                committed[name] = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    async with kafka.reader() as consumer:
        return [
            await _group_lag(consumer, name, committed[name]) if name in committed else GroupLag(name, known=False)
            for name in groups
        ]


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """A topic deleted since the group committed on it has no lag left to show."""
    try:
        return await partitions_of(consumer, topic)
    except NotFound:
        return []


async def _group_lag(consumer: AIOKafkaConsumer, group: str, committed: dict[TopicPartition, int]) -> GroupLag:
    partitions = [tp for topic in sorted({tp.topic for tp in committed}) for tp in await _partitions(consumer, topic)]
    if not partitions:
        return GroupLag(group, known=True)
    begins = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    positions = {tp: max(committed.get(tp, begins[tp]), begins[tp]) for tp in partitions}
    waiting = {tp: (positions[tp], ends[tp]) for tp in partitions if ends[tp] > positions[tp]}
    oldest = {(r.topic, r.partition): r.timestamp_ms for r in await read_ranges(consumer, waiting, limit_each=1)}
    now_ms = int(time.time() * 1000)
    rows = [
        partition_lag(
            tp,
            committed=committed.get(tp),
            begin=begins[tp],
            end=ends[tp],
            oldest_ms=oldest.get((tp.topic, tp.partition)),
            now_ms=now_ms,
        )
        for tp in partitions
    ]
    return GroupLag(group, known=True, partitions=rows)
