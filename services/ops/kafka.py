"""Kafka as the CLI reaches it: the stack's brokers and credentials, clients that join no consumer group.

Reading never joins a group and never commits, so watching a topic cannot move any service's offsets or
trigger a rebalance of its consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.ops.errors import NotFound, Unreachable, UsageError
from shared.bus.factory import kafka_security
from shared.bus.port import Record
from shared.settings import BusKind, ServiceSettings

READ_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class KafkaAccess:
    """Where the brokers are and how to log in, with the environment's topic and group prefix."""

    bootstrap_servers: str
    prefix: str = ""
    replication_factor: int = 1
    client_options: Mapping[str, Any] = field(default_factory=dict)
    request_timeout_ms: int = 10_000

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> KafkaAccess:
        if settings.bus is not BusKind.KAFKA:
            raise UsageError("this command reads Kafka: set FIRSTCALL_BUS=kafka (source var/stack.env locally)")
        return cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            prefix=settings.kafka_topic_prefix,
            replication_factor=settings.kafka_replication_factor,
            client_options=kafka_security(settings).client_options(),
        )

    def topic(self, name: str) -> str:
        """The physical name of a declared topic, given as `firstcall.tickets`, `tickets` or already prefixed."""
        if self.prefix and name.startswith(self.prefix):
            return name
        declared = name if name.startswith("firstcall.") else f"firstcall.{name}"
        return f"{self.prefix}{declared}"

    def group(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @contextlib.asynccontextmanager
    async def admin(self) -> AsyncIterator[AIOKafkaAdminClient]:
        client = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id="firstcall-ops-admin",
            request_timeout_ms=self.request_timeout_ms,
            **self.client_options,
        )
        await self._start(client.start())
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                await client.close()

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[AIOKafkaConsumer]:
        """A consumer of no group: partitions are assigned by hand, nothing is committed."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            client_id="firstcall-ops-reader",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=self.request_timeout_ms,
            **self.client_options,
        )
        await self._start(consumer.start())
        try:
            yield consumer
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    @contextlib.asynccontextmanager
    async def producer(self) -> AsyncIterator[AIOKafkaProducer]:
        """Idempotent and acks=all, as the services' own producer."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id="firstcall-ops",
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=self.request_timeout_ms,
            **self.client_options,
        )
        await self._start(producer.start())
        try:
            yield producer
        finally:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _start(self, starting: Any) -> None:
        try:
            await asyncio.wait_for(starting, self.request_timeout_ms / 1000 + 5)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise Unreachable(f"Kafka at {self.bootstrap_servers} did not answer: {exc!r}") from exc


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions; NotFound when the cluster does not have it.

    Asked of the whole cluster: once partitions are assigned by hand, the consumer's own metadata follows
    only the assigned topics, and would not know a topic read next."""
    cluster = await consumer._client.fetch_all_metadata()
    found = cluster.partitions_for_topic(topic)
    if not found:
        raise NotFound(f"no topic {topic!r} on the cluster")
    return [TopicPartition(topic, p) for p in sorted(found)]


async def topic_exists(consumer: AIOKafkaConsumer, topic: str) -> bool:
    try:
        await partitions_of(consumer, topic)
    except NotFound:
        return False
    return True


def as_record(message: Any) -> Record:
    """An aiokafka ConsumerRecord as the bus's own Record (what the rest of ops reads)."""
    return Record(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        list(message.headers or ()),
        message.timestamp,
    )


async def read_ranges(
    consumer: AIOKafkaConsumer, ranges: Mapping[TopicPartition, tuple[int, int]], *, limit_each: int | None = None
) -> list[Record]:
    """The records in [start, end) of each partition (or the first `limit_each` of them), in offset order.

    Stops on the consumer's position rather than on the last offset seen: a compacted topic has gaps, and
    its last offsets may be gone."""
    wanted = {tp: span for tp, span in ranges.items() if span[1] > span[0]}
    if not wanted:
        return []
    consumer.assign(list(wanted))
    for tp, (start, _) in wanted.items():
        consumer.seek(tp, start)
    found: dict[TopicPartition, list[Record]] = {tp: [] for tp in wanted}
    remaining = set(wanted)
    try:
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            while remaining:
                batches = await consumer.getmany(*remaining, timeout_ms=500)
                for tp, messages in batches.items():
                    end = wanted[tp][1]
                    found[tp].extend(as_record(m) for m in messages if m.offset < end)
                for tp in list(remaining):
                    full = limit_each is not None and len(found[tp]) >= limit_each
                    if full or await consumer.position(tp) >= wanted[tp][1]:
                        remaining.discard(tp)
    except TimeoutError as exc:
        raise Unreachable(
            f"reading {sorted(str(tp) for tp in remaining)} took over {READ_TIMEOUT_SECONDS:.0f}s"
        ) from exc
    records = [r for tp in wanted for r in found[tp]]
    return records if limit_each is None else [r for tp in wanted for r in found[tp][:limit_each]]


async def read_topic(consumer: AIOKafkaConsumer, topic: str) -> list[Record]:
    """Every record the topic holds now; empty when it does not exist."""
    try:
        partitions = await partitions_of(consumer, topic)
    except NotFound:
        return []
    begins = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    return await read_ranges(consumer, {tp: (begins[tp], ends[tp]) for tp in partitions})
