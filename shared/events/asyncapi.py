"""The AsyncAPI 3.0 document of every firstcall event, generated from the catalogue.

Checked in as docs/asyncapi.yaml; a unit test fails when the catalogue changed and the document did not,
so the published contract can never drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from shared.events.catalogue import Event, catalogue
from shared.events.topics import CONSUMER_GROUPS, all_topics, dead_letter_topic

_CE_HEADERS = {
    "ce_specversion": "CloudEvents version, always 1.0",
    "ce_id": "unique event id; consumers deduplicate on it",
    "ce_source": "producing service, e.g. /firstcall/router",
    "ce_type": "event type, e.g. firstcall.ticket.opened",
    "ce_subject": "aggregate id; also the record key, so one aggregate stays ordered",
    "ce_time": "when it happened (RFC 3339)",
    "ce_dataschema": "schema URI ending in /v<version>",
    "ce_correlationid": "correlation id of the request that caused it (optional)",
}


def _event_name(cls: type[Event]) -> str:
    """The class name without the version suffix a later version's class carries (ProblemUpdatedV2)."""
    suffix = f"V{cls.version}"
    return cls.__name__.removesuffix(suffix) if cls.version > 1 else cls.__name__


def _message_id(cls: type[Event]) -> str:
    return f"{_event_name(cls)}.v{cls.version}"


def _message(cls: type[Event]) -> dict[str, Any]:
    schema = cls.model_json_schema(ref_template="#/components/messages/" + _message_id(cls) + "/payload/$defs/{model}")
    return {
        "name": _event_name(cls),
        "title": f"{_event_name(cls)} (v{cls.version})",
        "summary": cls.summary,
        "description": (cls.__doc__ or "").strip(),
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time"],
            "properties": {name: {"type": "string", "description": text} for name, text in _CE_HEADERS.items()},
        },
        "payload": schema,
        "bindings": {"kafka": {"key": {"type": "string", "description": "the CloudEvents subject"}}},
        "x-cloudevents-type": cls.cloudevent_type(),
        "x-dataschema": cls.dataschema(),
        "x-producer": cls.producer,
    }


def build_asyncapi(consumers: Mapping[str, Iterable[type[Event]]]) -> dict[str, Any]:
    """The document as a dict; `consumers` maps each consumer group to the events it handles."""
    events = catalogue()
    channels: dict[str, Any] = {}
    for topic in all_topics():
        channel_events = [cls for cls in events if cls.topic.name == topic.name]
        channels[topic.name] = {
            "address": topic.name,
            "description": topic.description,
            "messages": {
                _message_id(cls): {"$ref": f"#/components/messages/{_message_id(cls)}"} for cls in channel_events
            },
            "bindings": {
                "kafka": {
                    "partitions": topic.partitions,
                    "topicConfiguration": topic.configs(),
                }
            },
        }
    operations: dict[str, Any] = {}
    for cls in (cls for cls in events if cls.published):
        operations[f"{cls.producer}.publish.{_message_id(cls)}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cls.topic.name}"},
            "messages": [{"$ref": f"#/channels/{cls.topic.name}/messages/{_message_id(cls)}"}],
            "summary": f"{cls.producer} publishes {_event_name(cls)} through its outbox",
        }
    for group, handled in sorted(consumers.items()):
        for cls in sorted(handled, key=_message_id):
            operations[f"{group}.receive.{_message_id(cls)}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{cls.topic.name}"},
                "messages": [{"$ref": f"#/channels/{cls.topic.name}/messages/{_message_id(cls)}"}],
                "summary": f"consumer group `{group}` handles it (dead letters: {dead_letter_topic(group).name})",
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "firstcall events",
            "version": "1.0.0",
            "description": (
                "Every event firstcall publishes. CloudEvents 1.0 in Kafka binary content mode: the data is "
                "the record value (JSON), the attributes are `ce_*` headers, the subject is the key. "
                f"Consumer groups: {', '.join(CONSUMER_GROUPS)}."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make up"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": {_message_id(cls): _message(cls) for cls in events}},
    }


def render_asyncapi(consumers: Mapping[str, Iterable[type[Event]]]) -> str:
    return yaml.safe_dump(build_asyncapi(consumers), sort_keys=False, width=110, allow_unicode=True)
