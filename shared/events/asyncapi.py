"""The AsyncAPI 3.1 document of every firstcall event, generated from the catalogue.

Checked in as docs/asyncapi.yaml; a unit test fails when the catalogue changed and the document did not,
so the published contract can never drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from shared.events.catalogue import Event, catalogue
from shared.events.topics import CONSUMER_GROUPS, DEAD_LETTERS_REPLAYED, all_topics, dead_letter_topic

_CE_HEADERS = {
    "ce_specversion": "CloudEvents version, always 1.0",
    "ce_id": "unique event id; consumers deduplicate on it",
    "ce_source": "producing service, e.g. /firstcall/router",
    "ce_type": "event type, e.g. firstcall.ticket.opened",
    "ce_subject": "aggregate id; also the record key, so one aggregate stays ordered",
    "ce_time": "when it happened (RFC 3339)",
    "ce_dataschema": "schema URI ending in /v<version>",
    "ce_correlationid": "correlation id of the request that caused it (optional)",
    "ce_traceparent": "W3C trace context of the span that created the event (CloudEvents distributed-tracing extension; optional)",
    "ce_tracestate": "the vendor trace state that goes with ce_traceparent (optional)",
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


_DLT_HEADERS = {
    "firstcall_dlt_group": "the consumer group that failed to handle the event",
    "firstcall_dlt_error": "the last error, one line (at most 1,000 characters)",
    "firstcall_dlt_attempts": "how many times the handler was tried (0: the record was malformed)",
    "firstcall_dlt_source": "where the record came from: topic/partition/offset",
}


def _dead_letter(group: str, handled: Iterable[type[Event]]) -> dict[str, Any]:
    """A dead letter: the failed record as it was (any event the group handles) plus why and from where."""
    headers = {**{name: {"type": "string", "description": text} for name, text in _CE_HEADERS.items()}}
    headers.update({name: {"type": "string", "description": text} for name, text in _DLT_HEADERS.items()})
    return {
        "name": f"DeadLetter.{group}",
        "title": f"An event the {group} consumer group could not handle",
        "summary": "The original record (value, key and headers) with the reason it failed; replay it to its origin.",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "required": ["firstcall_dlt_group", "firstcall_dlt_source"],
            "properties": headers,
        },
        "payload": {
            "description": "the original record's value: one of the events the group handles (or what failed to parse)",
            "oneOf": [{"$ref": f"#/components/messages/{_message_id(cls)}/payload"} for cls in handled],
        },
        "bindings": {"kafka": {"key": {"type": "string", "description": "the original record's key"}}},
    }


# What `firstcall dead-letters replay` writes (services/ops/replay.py `Mark`), keyed by the letter's id.
REPLAY_MARK: dict[str, Any] = {
    "name": "DeadLetterReplayed",
    "title": "A dead letter replayed to its origin topic",
    "summary": "The latest replay of one letter: where the copy went, when and by whom; read so each is replayed once.",
    "contentType": "application/json",
    "payload": {
        "type": "object",
        "required": ["letter_id", "letter_timestamp_ms", "replayed"],
        "properties": {
            "letter_id": {
                "type": "string",
                "description": "the letter: group/partition/offset on its dead-letter topic",
            },
            "letter_timestamp_ms": {"type": "integer", "description": "the letter's own record timestamp"},
            "replayed": {
                "type": "object",
                "required": ["at", "topic", "partition", "offset", "by"],
                "properties": {
                    "at": {"type": "string", "format": "date-time"},
                    "topic": {"type": "string", "description": "the origin topic the copy was sent to"},
                    "partition": {"type": "integer"},
                    "offset": {"type": "integer"},
                    "by": {"type": "string", "description": "the operator: user@host"},
                },
            },
        },
    },
    "bindings": {"kafka": {"key": {"type": "string", "description": "the letter id"}}},
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
                    "topicConfiguration": topic.binding_configuration(),
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
    dead_letters: dict[str, Any] = {}
    for group, handled in sorted(consumers.items()):
        channel = dead_letter_topic(group).name
        if channel not in channels:
            continue
        message = _dead_letter(group, sorted(handled, key=_message_id))
        dead_letters[message["name"]] = message
        channels[channel]["messages"] = {message["name"]: {"$ref": f"#/components/messages/{message['name']}"}}
        operations[f"{group}.dead-letter"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message['name']}"}],
            "summary": f"`{group}` sends what it failed to handle after its retries; ops list and replay it",
        }
    replayed = DEAD_LETTERS_REPLAYED.name
    channels[replayed]["messages"] = {"DeadLetterReplayed": {"$ref": "#/components/messages/DeadLetterReplayed"}}
    operations["ops.dead-letters.replay"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{replayed}"},
        "messages": [{"$ref": f"#/channels/{replayed}/messages/DeadLetterReplayed"}],
        "summary": "`firstcall dead-letters replay` marks each letter it replayed, after the broker acknowledged it",
    }
    return {
        "asyncapi": "3.1.0",
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
        "components": {
            "messages": {
                **{_message_id(cls): _message(cls) for cls in events},
                **dead_letters,
                "DeadLetterReplayed": REPLAY_MARK,
            }
        },
    }


def render_asyncapi(consumers: Mapping[str, Iterable[type[Event]]]) -> str:
    return yaml.safe_dump(build_asyncapi(consumers), sort_keys=False, width=110, allow_unicode=True)
