"""The AsyncAPI document is generated from the catalogue and must be checked in up to date."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.cli import asyncapi_document
from shared.events.catalogue import catalogue
from shared.events.topics import DEAD_LETTERS_REPLAYED, all_topics

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_checked_in_asyncapi_document_matches_the_catalogue() -> None:
    assert DOCUMENT.read_text() == asyncapi_document(), "docs/asyncapi.yaml is stale: run `make asyncapi`"


def test_asyncapi_document_describes_every_event_with_its_payload_schema() -> None:
    document = yaml.safe_load(asyncapi_document())
    assert document["asyncapi"] == "3.1.0"
    messages = document["components"]["messages"]
    for cls in catalogue():
        # A later version's class carries its version in its name (ProblemUpdatedV2); the message does not.
        message = messages[f"{cls.__name__.removesuffix(f'V{cls.version}')}.v{cls.version}"]
        assert message["title"].endswith(f"(v{cls.version})")
        assert set(cls.model_fields) <= set(message["payload"]["properties"])
        assert message["x-cloudevents-type"] == cls.cloudevent_type()


def test_asyncapi_document_names_who_consumes_ticket_opened() -> None:
    operations = yaml.safe_load(asyncapi_document())["operations"]
    receivers = {name.split(".")[0] for name, op in operations.items() if op["action"] == "receive"}
    assert {"knowledge", "notifier"} <= receivers


def test_each_version_of_an_event_is_its_own_message_under_the_events_name() -> None:
    messages = yaml.safe_load(asyncapi_document())["components"]["messages"]
    assert {"ProblemUpdated.v1", "ProblemUpdated.v2"} <= set(messages)
    assert messages["ProblemUpdated.v2"]["name"] == "ProblemUpdated"
    operations = yaml.safe_load(asyncapi_document())["operations"]
    # Version 1 is still read (records already on the topic) but no longer sent.
    assert "notifier.publish.ProblemUpdated.v1" not in operations
    assert "notifier.publish.ProblemUpdated.v2" in operations
    assert "router.receive.ProblemUpdated.v1" in operations


def test_the_replayed_letters_topic_is_declared_compacted_with_what_ops_write_on_it() -> None:
    assert DEAD_LETTERS_REPLAYED in all_topics(), "services create it, so a replay never has to"
    channel = yaml.safe_load(asyncapi_document())["channels"]["firstcall.dead-letters.replayed"]
    assert channel["bindings"]["kafka"]["topicConfiguration"] == {"cleanup.policy": ["compact"]}
    assert list(channel["messages"]) == ["DeadLetterReplayed"]
