"""The CloudEvents 1.0 envelope and its Kafka protocol binding (binary content mode).

In binary mode the event data is the Kafka record value and every attribute travels as a `ce_` header, so
any Kafka tool (kcat, the console consumer) shows the event type, id and source without knowing firstcall.
The subject (the aggregate id) is also the record key, which keeps one aggregate's events in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/json"
Headers = list[tuple[str, bytes]]

# Attributes of the envelope that map one-to-one on `ce_<name>` headers.
_HEADER_ATTRIBUTES = (
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "dataschema",
    "correlationid",
    "traceparent",
    "tracestate",
)


class CloudEvent(BaseModel):
    """One event as it travels: who sent it, what it is, which aggregate, when, and its data."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = CONTENT_TYPE
    dataschema: str
    correlationid: str | None = None
    # The CloudEvents distributed-tracing extension: the W3C trace context of the span that created the event.
    traceparent: str | None = None
    tracestate: str | None = None
    data: dict[str, Any]

    def to_json(self) -> bytes:
        """Structured-mode JSON, used for the outbox row and for the in-memory log."""
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        return cls.model_validate(orjson.loads(raw))


class MalformedEvent(ValueError):
    """A record that is not a CloudEvent firstcall can read: it goes straight to the dead-letter topic."""


@dataclass(frozen=True)
class EncodedEvent:
    """An event as a Kafka record (binary content mode), with the id and type it carries."""

    event_id: str
    type: str
    key: bytes
    value: bytes
    headers: Headers


def encode(event: CloudEvent) -> EncodedEvent:
    key, value, headers = to_kafka(event)
    return EncodedEvent(event.id, event.type, key, value, headers)


def encode_structured(raw: bytes | str) -> EncodedEvent:
    """The record for an event stored as structured JSON (the outbox), without re-validating it:
    the relay publishes thousands a second, and every stored row was validated when it was written."""
    attributes: dict[str, Any] = orjson.loads(raw)
    data = attributes.pop("data")
    headers = [(f"ce_{name}", str(attributes[name]).encode()) for name in _HEADER_ATTRIBUTES if name in attributes]
    headers.append(("content-type", str(attributes.get("datacontenttype", CONTENT_TYPE)).encode()))
    return EncodedEvent(
        str(attributes["id"]), str(attributes["type"]), str(attributes["subject"]).encode(), orjson.dumps(data), headers
    )


def to_kafka(event: CloudEvent) -> tuple[bytes, bytes, Headers]:
    """Key, value and headers of the Kafka record for an event (binary content mode)."""
    attributes = event.model_dump(mode="json", exclude_none=True)
    headers = [(f"ce_{name}", str(attributes[name]).encode()) for name in _HEADER_ATTRIBUTES if name in attributes]
    headers.append(("content-type", event.datacontenttype.encode()))
    return event.subject.encode(), orjson.dumps(event.data), headers


def from_kafka(value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> CloudEvent:
    """Rebuild the envelope from a Kafka record; raises MalformedEvent for anything else."""
    attributes: dict[str, Any] = {}
    for name, raw in headers:
        if name.startswith("ce_"):
            attributes[name[3:]] = raw.decode("utf-8", errors="replace")
        elif name == "content-type":
            attributes["datacontenttype"] = raw.decode("utf-8", errors="replace")
    try:
        attributes["data"] = orjson.loads(value or b"null")
        return CloudEvent.model_validate(attributes)
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise MalformedEvent(f"not a firstcall CloudEvent: {exc}") from exc
