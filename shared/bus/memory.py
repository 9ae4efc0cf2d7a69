"""An in-memory bus with Kafka's contract, for embedded mode and unit tests.

Topics are declared (publishing to an unknown topic fails, as with auto-create off), partitioned by key,
and append-only; each consumer group has its own committed offsets and sees every record once it commits,
at least once if its handler fails; a handler whose dependency is down (HandlerUnavailable) holds its partition
until it is back, as on Kafka. Nothing survives the process: embedded mode drains it on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence

from shared.bus import batching
from shared.bus.batching import BATCH_RECORDS
from shared.bus.delivery import DependencyOutage, deliver
from shared.bus.port import BusHealth, BusUnavailable, Consumer, HandlerUnavailable, MessageBus, Record, Subscription
from shared.events.envelope import EncodedEvent, Headers
from shared.events.topics import TopicSpec
from shared.metrics import PartitionProgress, forget_consumer, track_consumer

log = logging.getLogger(__name__)


class InMemoryBus(MessageBus):
    system = "firstcall.memory"

    def __init__(self, topics: Iterable[TopicSpec]) -> None:
        self._logs: dict[str, list[list[Record]]] = {t.name: [[] for _ in range(t.partitions)] for t in topics}
        self._committed: dict[tuple[str, str, int], int] = defaultdict(int)
        self._members: dict[str, list[MemoryConsumer]] = defaultdict(list)
        self._appended = asyncio.Condition()
        self._progress = asyncio.Condition()
        self._version = 0  # bumped on every append, so a consumer never sleeps through a new record
        self.available = True

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for members in list(self._members.values()):
            for consumer in list(members):
                await consumer.stop()

    def add_topics(self, topics: Iterable[TopicSpec]) -> None:
        """Declare more topics (tests use private ones); existing topics keep their records."""
        for topic in topics:
            self._logs.setdefault(topic.name, [[] for _ in range(topic.partitions)])

    async def publish_encoded(self, topic: str, events: Sequence[EncodedEvent]) -> None:
        for event in events:
            self.append(topic, event.key, event.value, event.headers)
        await self._wake()

    def append(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> Record:
        """Store one raw record, as a producer would; raises BusUnavailable when switched off."""
        if not self.available:
            raise BusUnavailable("in-memory bus switched off")
        if topic not in self._logs:
            raise BusUnavailable(f"unknown topic {topic!r}")
        partitions = self._logs[topic]
        # Same idea as Kafka's default partitioner: one key always lands on one partition.
        index = zlib.crc32(key) % len(partitions) if key is not None else 0
        record = Record(topic, index, len(partitions[index]), key, value, headers, int(time.time() * 1000))
        partitions[index].append(record)
        self._version += 1
        return record

    def records(self, topic: str) -> list[Record]:
        """Every record of a topic, partition by partition (for tests and the CLI)."""
        return [record for partition in self._logs[topic] for record in partition]

    def consumer(self, subscription: Subscription) -> Consumer:
        unknown = [t for t in subscription.topics if t not in self._logs]
        if unknown:
            raise BusUnavailable(f"unknown topics {unknown}")
        return MemoryConsumer(self, subscription)

    async def health(self) -> BusHealth:
        return BusHealth(self.available, "ok" if self.available else "switched off")

    def lag(self, group: str, topics: Iterable[str]) -> int:
        """Records of the topics the group has not committed yet."""
        return sum(
            len(records) - self._committed[(group, topic, index)]
            for topic in topics
            for index, records in enumerate(self._logs[topic])
        )

    async def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until every running consumer group has committed everything (tests, shutdown drain).

        The default is for tests: a loaded 2-core CI machine has taken over ten seconds to drain what a quiet
        one drains in one; a shutdown passes its own deadline."""
        async with asyncio.timeout(timeout), self._progress:
            await self._progress.wait_for(self._idle)

    def _idle(self) -> bool:
        return not any(
            self.lag(group, m.subscription.topics) or m.busy
            for group, members in self._members.items()
            for m in members
        )

    async def _committed_progress(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    def _assigned(self, consumer: MemoryConsumer) -> list[tuple[str, int]]:
        """Partitions a group member owns: spread round-robin over the group's members."""
        members = self._members[consumer.subscription.group]
        if consumer not in members:
            return []
        slot, size = members.index(consumer), len(members)
        pairs = [(t, p) for t in consumer.subscription.topics for p in range(len(self._logs[t]))]
        return [pair for n, pair in enumerate(pairs) if n % size == slot]

    async def _wake(self) -> None:
        self._version += 1
        async with self._appended:
            self._appended.notify_all()

    async def _wait_for_records(self, seen: int, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with self._appended:
                await asyncio.wait_for(self._appended.wait_for(lambda: self._version != seen), timeout)


class MemoryConsumer(Consumer):
    rejoins = 0  # one member for its whole life: nothing here replaces it

    def __init__(self, bus: InMemoryBus, subscription: Subscription) -> None:
        self.bus, self.subscription = bus, subscription
        self.busy = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self._outage = DependencyOutage(subscription.group, subscription.retry_backoff_ms / 1000)
        self._pause_for = 0.0  # set when a handler's dependency is down: the cycle stops and waits this long

    @property
    def service(self) -> str:
        return self.subscription.service or self.subscription.group

    @property
    def group(self) -> str:
        return self.subscription.group

    def progress(self) -> list[PartitionProgress]:
        """The lag of every partition this member owns, and the timestamp of the first record not committed."""
        found = []
        for topic, partition in self.bus._assigned(self):
            records = self.bus._logs[topic][partition]
            committed = self.bus._committed[(self.subscription.group, topic, partition)]
            oldest = records[committed].timestamp_ms if committed < len(records) else None
            found.append(PartitionProgress(self.subscription.group, topic, partition, len(records) - committed, oldest))
        return found

    async def start(self) -> None:
        self.bus._members[self.subscription.group].append(self)
        track_consumer(self)
        self._task = asyncio.create_task(self._run(), name=f"memory-consumer-{self.subscription.group}")

    async def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        forget_consumer(self)
        if self._task is not None:
            await self.bus._wake()
            await self._task
            self._task = None
        members = self.bus._members[self.subscription.group]
        if self in members:
            members.remove(self)

    async def _run(self) -> None:
        while not self._stopping:
            seen = self.bus._version
            progressed = False
            for topic, partition in self.bus._assigned(self):
                progressed |= await self._drain(topic, partition)
                if self._pause_for:
                    break
            if self._pause_for:
                # Woken early only by stop(): new records do not bring the database back.
                await self._sleep(self._pause_for)
                self._pause_for = 0.0
            elif not progressed:
                await self.bus._wait_for_records(seen, timeout=0.5)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def _drain(self, topic: str, partition: int) -> bool:
        key = (self.subscription.group, topic, partition)
        records = self.bus._logs[topic][partition]
        progressed = False
        preparing = batching.prepares(self.subscription)
        prepared_until = self.bus._committed[key]  # records from here on have not been prepared in this drain
        while not self._stopping and self.bus._committed[key] < len(records):
            record = records[self.bus._committed[key]]
            self.busy = True
            try:
                if preparing and record.offset >= prepared_until:
                    # What the Kafka adapter does with a fetch: the next BATCH_RECORDS records, as they stand.
                    chunk = records[record.offset : record.offset + BATCH_RECORDS]
                    prepared_until = record.offset + len(chunk)
                    await batching.prepare(self.subscription, chunk)
                await deliver(record, self.subscription, self._dead_letter, system=self.bus.system)
            except HandlerUnavailable as exc:
                self._pause_for = self._outage.pause(exc)
                return progressed
            except BusUnavailable:
                log.warning("dead-letter topic unavailable; %s will be retried", record.offset)
                await asyncio.sleep(self.subscription.retry_backoff_ms / 1000)
                return progressed
            finally:
                self.busy = False
            self._outage.over()
            self.bus._committed[key] = record.offset + 1
            await self.bus._committed_progress()
            progressed = True
        return progressed

    async def _dead_letter(self, topic: str, record: Record, headers: Headers) -> None:
        self.bus.append(topic, record.key, record.value, headers)
