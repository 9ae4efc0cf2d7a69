"""The Kafka adapter (aiokafka): an idempotent acks=all producer and manually committed consumer groups.

Start-up never depends on the broker: the producer connects in the background and, until it has, `publish`
raises BusUnavailable so the outbox keeps the events. Consumers commit each record's offset only after its
handler (and so its database transaction) finished, which makes delivery at-least-once; the inbox turns
that into exactly-once effects. A handler whose dependency is down (HandlerUnavailable) has its record and
the rest of the batch put back and tried again after a pause, without spending attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.helpers import create_ssl_context

from shared.bus import batching
from shared.bus.batching import BATCH_RECORDS
from shared.bus.delivery import DependencyOutage, deliver
from shared.bus.port import BusHealth, BusUnavailable, Consumer, HandlerUnavailable, MessageBus, Record, Subscription
from shared.events.envelope import EncodedEvent, Headers
from shared.events.topics import TopicSpec
from shared.metrics import PartitionProgress, forget_consumer, track_consumer

log = logging.getLogger(__name__)
T = TypeVar("T")
TOPIC_ALREADY_EXISTS = 36
RECONNECT_SECONDS = 2.0
# aiokafka's getmany waits without a limit while a rebalance is in progress, and its commit and start wait
# for a group coordinator without one: if the member's coordination stalls (CI saw a consumer fall silent
# after a broker restart and never come back), only a bound of our own brings it back. A minute is well past
# a healthy rebalance (our session timeout is 10 s) and well inside what a stalled pipeline can afford.
STALL_SECONDS = 60.0


class MemberStalled(Exception):
    """A step of the group member did not end within its bound; the member is replaced."""


@dataclass(frozen=True)
class KafkaSecurity:
    """How to authenticate to the brokers (PLAINTEXT for the local stack; SASL_SSL for most clusters)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    username: str | None = None
    password: str | None = None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments every aiokafka client takes."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = create_ssl_context()
        if self.protocol.startswith("SASL"):
            options.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        return options


class KafkaBus(MessageBus):
    system = "kafka"

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        client_id: str,
        topics: Iterable[TopicSpec] = (),
        create_topics: bool = True,
        replication_factor: int = 1,
        request_timeout_ms: int = 10_000,
        security: KafkaSecurity = KafkaSecurity(),
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.client_options = security.client_options()
        self._topics = list(topics)
        self._create_topics = create_topics
        self._replication_factor = replication_factor
        self._request_timeout_ms = request_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._connected = asyncio.Event()
        self._connector: asyncio.Task[None] | None = None
        self._last_error = "connecting"
        self._unacknowledged: list[asyncio.Future[Any]] = []
        self._acknowledged_late: set[str] = set()

    async def start(self, wait_seconds: float = 5.0) -> None:
        """Connect in the background; wait briefly so a healthy start is ready at once."""
        self._connector = asyncio.create_task(self._connect_forever(), name="kafka-connect")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), wait_seconds)

    async def stop(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._producer is not None:
            await self._producer.stop()
        if self._admin is not None:
            await self._admin.close()
        self._connected.clear()

    async def _connect_forever(self) -> None:
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap_servers,
                client_id=self.client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=1,
                request_timeout_ms=self._request_timeout_ms,
                **self.client_options,
            )
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap_servers,
                client_id=f"{self.client_id}-admin",
                request_timeout_ms=self._request_timeout_ms,
                **self.client_options,
            )
            try:
                await admin.start()
                if self._create_topics:
                    await ensure_topics(admin, self._topics, self._replication_factor)
                await producer.start()
            except (KafkaError, OSError) as exc:
                self._last_error = f"cannot reach Kafka at {self.bootstrap_servers}: {exc!r}"
                log.warning("%s; retrying in %.0fs", self._last_error, RECONNECT_SECONDS)
                await _close_quietly(producer, admin)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            self._producer, self._admin = producer, admin
            self._last_error = "ok"
            self._connected.set()
            log.info("connected to Kafka at %s", self.bootstrap_servers)
            return

    async def publish_encoded(self, topic: str, events: Sequence[EncodedEvent]) -> None:
        # Events acknowledged after we had given up waiting are on the broker already: send no copies.
        fresh = [event for event in events if event.event_id not in self._acknowledged_late]
        await self._send_all([(topic, e.key, e.value, e.headers, e.event_id) for e in fresh])
        self._acknowledged_late.difference_update(event.event_id for event in events)

    async def send_raw(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        """Publish a record as it is (dead-lettering keeps the original bytes)."""
        await self._send_all([(topic, key, value, headers, None)])

    async def _send_all(self, records: Sequence[tuple[str, bytes | None, bytes | None, Headers, str | None]]) -> None:
        producer = self._producer
        if producer is None:
            raise BusUnavailable(self._last_error)
        if not records:
            return
        if any(not ack.done() for ack in self._unacknowledged):
            # aiokafka keeps retrying a batch while the broker is away; sending the events again now would
            # put a second copy behind the first.
            raise BusUnavailable("earlier events still wait for the broker's acknowledgement")
        try:
            # Queue every record before awaiting any acknowledgement: one round trip per batch, in order.
            acks = [
                await producer.send(topic, value=value, key=key, headers=headers)
                for topic, key, value, headers, _ in records
            ]
        except KafkaError as exc:
            raise self._unavailable(f"publish failed: {exc!r}") from exc
        # asyncio.wait, unlike wait_for, leaves the producer's futures alone when time runs out.
        done, pending = await asyncio.wait(acks, timeout=self._request_timeout_ms / 1000)
        if pending:
            self._unacknowledged = list(pending)
            for ack, (*_, event_id) in zip(acks, records, strict=True):
                if ack in pending:
                    ack.add_done_callback(functools.partial(self._late_acknowledgement, event_id))
            raise self._unavailable(f"no acknowledgement from Kafka within {self._request_timeout_ms} ms")
        for ack in done:
            if (error := ack.exception()) is not None:
                raise self._unavailable(f"publish failed: {error!r}") from error
        self._last_error = "ok"

    def _late_acknowledgement(self, event_id: str | None, ack: asyncio.Future[Any]) -> None:
        if not ack.cancelled() and ack.exception() is None and event_id is not None:
            self._acknowledged_late.add(event_id)

    def _unavailable(self, reason: str) -> BusUnavailable:
        self._last_error = reason
        return BusUnavailable(reason)

    def consumer(self, subscription: Subscription) -> Consumer:
        return KafkaConsumer(self, subscription)

    async def health(self) -> BusHealth:
        if self._admin is None:
            return BusHealth(False, self._last_error)
        try:
            async with asyncio.timeout(2.0):
                cluster = await self._admin.describe_cluster()
        except (KafkaError, OSError, TimeoutError) as exc:
            return BusHealth(False, f"Kafka unreachable: {exc!r}")
        return BusHealth(True, "ok", {"brokers": str(len(cluster.get("brokers", [])))})


class KafkaConsumer(Consumer):
    """One consumer-group member: polls, delivers record by record, commits after each."""

    def __init__(self, bus: KafkaBus, subscription: Subscription) -> None:
        self.bus, self.subscription = bus, subscription
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.assigned = asyncio.Event()
        # For the lag on /metrics: the group's next offset per partition, and the record in hand.
        self._client: AIOKafkaConsumer | None = None
        self._next: dict[TopicPartition, int] = {}
        self._in_hand: dict[TopicPartition, tuple[int, int]] = {}  # offset, timestamp (ms)
        self._outage = DependencyOutage(subscription.group, subscription.retry_backoff_ms / 1000)
        self.stall_seconds = STALL_SECONDS
        self.rejoins = 0  # members replaced after a failure or a stall, for tests and logs

    @property
    def service(self) -> str:
        return self.subscription.service or self.subscription.group

    @property
    def group(self) -> str:
        return self.subscription.group

    def progress(self) -> list[PartitionProgress]:
        """Lag of the partitions this member owns: the broker's high watermark (from the last fetch) less
        the group's next offset; unknown, and left out, until the first fetch of a partition."""
        client = self._client
        found: list[PartitionProgress] = []
        if client is None:
            return found
        for tp in client.assignment():
            highwater, next_offset = client.highwater(tp), self._next.get(tp)
            if highwater is None or next_offset is None:
                continue
            in_hand = self._in_hand.get(tp)
            oldest = in_hand[1] if in_hand is not None and in_hand[0] == next_offset else None
            lag = max(highwater - next_offset, 0)
            found.append(PartitionProgress(self.subscription.group, tp.topic, tp.partition, lag, oldest))
        return found

    async def start(self) -> None:
        track_consumer(self)
        self._task = asyncio.create_task(self._run(), name=f"kafka-consumer-{self.subscription.group}")

    async def stop(self) -> None:
        self._stopping.set()
        forget_consumer(self)
        if self._task is not None:
            await self._task
            self._task = None

    def _group_member(self) -> AIOKafkaConsumer:
        """A new aiokafka consumer in the subscription's group, not started."""
        return AIOKafkaConsumer(
            *self.subscription.topics,
            bootstrap_servers=self.bus.bootstrap_servers,
            client_id=f"{self.bus.client_id}-{self.subscription.group}",
            group_id=self.subscription.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=100,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            metadata_max_age_ms=30_000,
            **self.bus.client_options,
        )

    async def _run(self) -> None:
        while not self._stopping.is_set():
            consumer = self._group_member()
            try:
                await self._bounded("start", consumer.start())
            except (KafkaError, OSError, MemberStalled) as exc:
                log.warning("consumer %s cannot start: %r", self.subscription.group, exc)
                with contextlib.suppress(MemberStalled):
                    await self._bounded("stop", _close_quietly(consumer))
                await self._pause(RECONNECT_SECONDS)
                continue
            self._client, self._next, self._in_hand = consumer, {}, {}
            failed = False
            try:
                await self._consume(consumer)
            except Exception:
                # aiokafka raises its group coordinator's errors from getmany (a broker killed under it did
                # that once): the member must not end in silence. It joins again from the committed offsets;
                # the record in hand, if any, comes again and the inbox knows it.
                log.exception("consumer %s stopped; joining its group again", self.subscription.group)
                failed = True
            finally:
                self._client = None
                # Leaving the group hands our partitions over at once instead of after a session timeout;
                # bounded, since leaving asks the same coordinator that may be the one stalled.
                with contextlib.suppress(MemberStalled):
                    await self._bounded("stop", _close_quietly(consumer))
            if failed:
                self.rejoins += 1
                await self._pause(RECONNECT_SECONDS)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        loop = asyncio.get_running_loop()
        rejoin_asked: float | None = None
        while not self._stopping.is_set():
            batches = await self._bounded("poll", consumer.getmany(timeout_ms=200))
            # The other face of a stalled coordination (aiokafka issue #1154): polls return, empty, while a
            # rejoin the member asked for never happens. aiokafka has no public signal for it.
            if _rejoin_pending(consumer):
                rejoin_asked = loop.time() if rejoin_asked is None else rejoin_asked
                if loop.time() - rejoin_asked > self.stall_seconds:
                    raise MemberStalled(
                        f"consumer {self.subscription.group} asked to rejoin its group {self.stall_seconds:g} s ago "
                        "and has not"
                    )
            else:
                rejoin_asked = None
            if consumer.assignment():
                self.assigned.set()
            fetched = list(batches.items())
            for index, (partition, messages) in enumerate(fetched):
                if (pause := await self._handle_partition(consumer, partition, messages)) is not None:
                    # The handler's dependency is down: the other partitions of this batch would fail alike.
                    for later, unhandled in fetched[index + 1 :]:
                        _rewind(consumer, later, unhandled[0].offset)
                    await self._pause(pause)
                    break
            await self._note_positions(consumer)

    async def _note_positions(self, consumer: AIOKafkaConsumer) -> None:
        """Nothing is in hand between two polls: the group's next offset is the consumer's position."""
        for tp in list(consumer.assignment()):
            if tp not in consumer.assignment():
                continue  # revoked by a rebalance while an earlier partition's position was awaited
            if consumer.highwater(tp) is None:
                continue  # not fetched yet, so no position to read without waiting for the broker
            with contextlib.suppress(IllegalStateError, KafkaError, TimeoutError):
                self._next[tp] = await asyncio.wait_for(consumer.position(tp), 1.0)

    async def _handle_partition(
        self, consumer: AIOKafkaConsumer, partition: TopicPartition, messages: list[ConsumerRecord]
    ) -> float | None:
        """Deliver and commit the partition's records in order; the pause to take if the handler is unavailable.

        A handler that works ahead (shared/bus/batching.py) is given each BATCH_RECORDS records of the fetch
        before the first of them is delivered; delivery and commits stay record by record."""
        preparing = batching.prepares(self.subscription)
        for index, message in enumerate(messages):
            if self._stopping.is_set():
                return None
            record = _record(message)
            self._in_hand[partition] = (message.offset, message.timestamp)
            self._next.setdefault(partition, message.offset)
            if preparing and index % BATCH_RECORDS == 0:
                chunk = messages[index : index + BATCH_RECORDS]
                await batching.prepare(self.subscription, [_record(m) for m in chunk])
            delivery = deliver(record, self.subscription, self._dead_letter, system=self.bus.system)
            # A handler is not cut short (it may be a long erasure sweep), but one that takes this long is
            # named in the log with where it waits: a partition stuck behind it is otherwise silent.
            watch = asyncio.get_running_loop().call_later(self.stall_seconds, self._still_handling, delivery, record)
            try:
                await delivery
            except HandlerUnavailable as exc:
                _rewind(consumer, partition, message.offset)
                return self._outage.pause(exc)
            except BusUnavailable as exc:
                # Neither handled nor dead-lettered: rewind so this record comes again, and wait.
                log.warning("cannot dead-letter %s/%s: %s", partition, message.offset, exc)
                consumer.seek(partition, message.offset)
                await self._pause(RECONNECT_SECONDS)
                return None
            finally:
                watch.cancel()
            self._outage.over()
            try:
                await self._bounded("commit", consumer.commit({partition: message.offset + 1}))
                self._next[partition] = message.offset + 1
            except (CommitFailedError, IllegalStateError) as exc:
                # The partition moved to another member during a rebalance; it will redeliver from the last
                # committed offset and the inbox will recognise what we already handled.
                log.info("partition %s revoked before commit: %r", partition, exc)
                return None
            except KafkaError as exc:
                log.warning("commit of %s/%s failed, will be redelivered: %r", partition, message.offset, exc)
        return None

    def _still_handling(self, delivery: Coroutine[Any, Any, str], record: Record) -> None:
        log.warning(
            "consumer %s has handled %s/%s@%s for over %g s, waiting in %s",
            self.subscription.group,
            record.topic,
            record.partition,
            record.offset,
            self.stall_seconds,
            _awaiting(delivery),
        )

    async def _bounded(self, step: str, call: Coroutine[Any, Any, T]) -> T:
        """`call`, or MemberStalled once it has taken `stall_seconds` (the member is then replaced)."""
        task = asyncio.ensure_future(call)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.stall_seconds)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            return task.result()
        # Where aiokafka waits is what the next person needs to see; it is gone once the task is cancelled.
        where = _awaiting(call)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise MemberStalled(
            f"{step} of consumer {self.subscription.group} did not end within {self.stall_seconds:g} s, waiting in {where}"
        )

    async def _dead_letter(self, topic: str, record: Record, headers: Headers) -> None:
        await self.bus.send_raw(topic, record.key, record.value, headers)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


def _rejoin_pending(consumer: AIOKafkaConsumer) -> bool:
    """Whether the member's coordinator has asked for a rejoin it has not made yet (private in aiokafka 0.14;
    False if a later version renames it, leaving the bounds on each step)."""
    requested = getattr(getattr(consumer, "_coordinator", None), "_rejoin_needed_fut", None)
    return isinstance(requested, asyncio.Future) and requested.done()


def _awaiting(coroutine: Any) -> str:
    """The chain of coroutines `coroutine` is suspended in, outermost first ("getmany:1197 > ...")."""
    steps: list[str] = []
    while coroutine is not None and len(steps) < 12:
        frame = getattr(coroutine, "cr_frame", None)
        if frame is None:
            steps.append(type(coroutine).__name__)  # a future, or a coroutine already finished
            break
        steps.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        coroutine = getattr(coroutine, "cr_await", None)
    return " > ".join(steps)


def _record(message: ConsumerRecord) -> Record:
    """aiokafka's record as the bus port's (what delivery and preparation read)."""
    return Record(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        list(message.headers or ()),
        message.timestamp,
    )


def _rewind(consumer: AIOKafkaConsumer, partition: TopicPartition, offset: int) -> None:
    """Fetch from `offset` again; a partition a rebalance took starts from its committed offset anyway."""
    with contextlib.suppress(IllegalStateError):
        consumer.seek(partition, offset)


async def ensure_topics(admin: AIOKafkaAdminClient, topics: Iterable[TopicSpec], replication_factor: int) -> None:
    """Create the declared topics that do not exist yet (safe when several services race to do it)."""
    existing = set(await admin.list_topics())
    missing = [t for t in topics if t.name not in existing]
    if not missing:
        return
    response = await admin.create_topics(
        [NewTopic(t.name, t.partitions, replication_factor, topic_configs=t.configs()) for t in missing]
    )
    for name, code, *rest in response.topic_errors:
        if code not in (0, TOPIC_ALREADY_EXISTS):
            raise KafkaError(f"cannot create topic {name}: error {code} {rest}")
    log.info("created topics %s", [t.name for t in missing])


async def _close_quietly(*clients: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient) -> None:
    for client in clients:
        with contextlib.suppress(Exception):
            if isinstance(client, AIOKafkaAdminClient):
                await client.close()
            else:
                await client.stop()
