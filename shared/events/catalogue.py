"""The catalogue: every event firstcall publishes, as a versioned pydantic model.

An event's class says what it means (past tense), which topic it travels on, and which aggregate it is
about (the CloudEvents subject and Kafka key). Producers build the model and put it in the outbox;
consumers get it back parsed. The AsyncAPI document is generated from this module (`firstcall asyncapi`).

Versioning: a compatible change (a new optional field) keeps the version; anything else is a new class
with `version = 2` beside the old one, and producers publish both until every consumer has moved.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events import topics
from shared.events.envelope import CloudEvent
from shared.logs import correlation_id

SCHEMA_BASE = "https://firstcall.dev/schemas/events/"
TYPE_PREFIX = "firstcall."
_SCHEMA_VERSION = re.compile(r"/v(\d+)$")


class Event(BaseModel):
    """Base of every event's data."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ClassVar[str]
    producer: ClassVar[str]  # the one service that publishes it: the CloudEvents source
    version: ClassVar[int] = 1
    topic: ClassVar[topics.TopicSpec]
    summary: ClassVar[str]

    @property
    def aggregate_id(self) -> str:
        raise NotImplementedError

    @classmethod
    def cloudevent_type(cls) -> str:
        return TYPE_PREFIX + cls.name

    @classmethod
    def dataschema(cls) -> str:
        return f"{SCHEMA_BASE}{cls.name}/v{cls.version}"

    @classmethod
    def source(cls) -> str:
        return f"/firstcall/{cls.producer}"

    def to_cloudevent(self) -> CloudEvent:
        """Wrap the data in its envelope, carrying the correlation id of the work that caused it."""
        return CloudEvent(
            source=self.source(),
            type=self.cloudevent_type(),
            subject=self.aggregate_id,
            dataschema=self.dataschema(),
            correlationid=correlation_id(),
            data=self.model_dump(mode="json"),
        )


_CATALOGUE: dict[tuple[str, int], type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def register(cls: E) -> E:
    """Add an event class to the catalogue (one per name and version)."""
    key = (cls.cloudevent_type(), cls.version)
    if key in _CATALOGUE:
        raise ValueError(f"event {key} registered twice")
    _CATALOGUE[key] = cls
    return cls


def catalogue() -> list[type[Event]]:
    """All registered events, ordered by name and version."""
    return sorted(_CATALOGUE.values(), key=lambda cls: (cls.name, cls.version))


def schema_version(dataschema: str) -> int:
    match = _SCHEMA_VERSION.search(dataschema)
    return int(match.group(1)) if match else 1


def event_class(envelope: CloudEvent) -> type[Event] | None:
    """The catalogue class for an envelope, or None for events this build does not know."""
    return _CATALOGUE.get((envelope.type, schema_version(envelope.dataschema)))


def parse(envelope: CloudEvent) -> Event | None:
    """The typed event inside an envelope (None if unknown); raises ValidationError if it is invalid."""
    cls = event_class(envelope)
    return cls.model_validate(envelope.data) if cls else None


Channel = Literal["phone", "email", "chat", "web", "social", "other"]
Priority = Literal["low", "normal", "high", "urgent"]


@register
class TicketOpened(Event):
    """A customer's report became a ticket. Knowledge suggests answers; the notifier looks for duplicates."""

    name = "ticket.opened"
    producer = "router"
    topic = topics.TICKETS
    summary = "A ticket was opened for a customer on some channel."

    ticket_id: UUID
    customer_id: UUID
    channel: Channel
    subject: str = Field(max_length=300)
    description: str = Field(max_length=20_000)
    priority: Priority
    opened_at: datetime
    customer_name: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, description="product, order, language...")

    @property
    def aggregate_id(self) -> str:
        return str(self.ticket_id)
