"""What every event is: a versioned, frozen pydantic model that knows its topic, producer and aggregate.

Events are defined in the domain modules next to this one and registered here; import them through
`shared.events.catalogue`, which loads every module so the registry is always complete.
"""

from __future__ import annotations

import re
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

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
    # False once a later version replaced it: still read (records already on the topic), no longer sent.
    published: ClassVar[bool] = True
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
