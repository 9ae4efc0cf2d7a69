"""What a firstcall message bus promises, whichever broker is behind it.

- `publish` returns only once the broker has the events (Kafka: acks=all); otherwise it raises
  BusUnavailable and the outbox keeps them.
- A subscription belongs to a consumer group; every group sees every event of its topics; inside a group
  each partition has one consumer, so one aggregate's events are handled in order.
- At-least-once: an offset is committed only after the handler returned. A handler that raises is retried
  with backoff; after `max_attempts` the record goes to the group's dead-letter topic with the error
  attached, its offset is committed, and the consumer goes on. PoisonEvent skips the retries.
- HandlerUnavailable is not a failed attempt: the handler could not run because something it depends on
  (its database) is down. The record stays uncommitted, the consumer waits with growing pauses and tries it
  again, however long the outage lasts; it is never dead-lettered for that.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from shared.events.envelope import CloudEvent, EncodedEvent, Headers, encode

Handler = Callable[[CloudEvent], Awaitable[None]]
# Told of each retry and dead-letter: (outcome, event type); services count these in their metrics.
Observer = Callable[[str, str], None]


class BusUnavailable(Exception):
    """The broker could not take or give events right now; callers keep their data and retry."""


class HandlerUnavailable(Exception):
    """Raised for a handler that could not run because a dependency is down: the event is not at fault.

    The bus keeps the record, pauses the consumer and delivers it again later, spending none of its attempts.
    """


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never succeed (invalid data): dead-lettered at once."""


@dataclass(frozen=True)
class Record:
    """A message as stored on a topic partition (the Kafka record, or its in-memory twin)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int


@dataclass(frozen=True)
class Subscription:
    """A consumer group's interest in some topics, and what to do with each event."""

    group: str
    topics: Sequence[str]
    handler: Handler
    dead_letter_topic: str
    max_attempts: int = 5
    retry_backoff_ms: int = 200
    observer: Observer | None = None
    service: str | None = None  # who logs the handling; default the group (named after its service)

    def observe(self, outcome: str, event_type: str) -> None:
        if self.observer is not None:
            self.observer(outcome, event_type)


@dataclass(frozen=True)
class BusHealth:
    ok: bool
    detail: str = "ok"
    extra: dict[str, str] = field(default_factory=dict)


class Consumer(ABC):
    """One member of a consumer group, running in the background until stopped."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None:
        """Stop taking records, finish the one in hand, commit its offset, leave the group."""


class MessageBus(ABC):
    system: ClassVar[str]  # what traces call it (OpenTelemetry's messaging.system)

    @abstractmethod
    async def start(self) -> None:
        """Connect the producer; must not fail when the broker is down (the outbox waits)."""

    @abstractmethod
    async def stop(self) -> None: ...

    async def publish(self, topic: str, events: Sequence[CloudEvent]) -> None:
        """Append events to a topic, in order, and wait until the broker has them all."""
        await self.publish_encoded(topic, [encode(event) for event in events])

    @abstractmethod
    async def publish_encoded(self, topic: str, events: Sequence[EncodedEvent]) -> None:
        """`publish` for events already encoded as records (what the outbox relay sends)."""

    @abstractmethod
    def consumer(self, subscription: Subscription) -> Consumer:
        """A new group member for the subscription; start it to begin consuming."""

    @abstractmethod
    async def health(self) -> BusHealth: ...
