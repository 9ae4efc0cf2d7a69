"""The event catalogue: versioned, typed events and their envelopes."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from shared.events.catalogue import TicketOpened, catalogue, event_class, parse, register
from shared.logs import set_correlation_id
from tests.factories import ticket_opened


def test_event_becomes_an_envelope_whose_subject_is_the_aggregate_id() -> None:
    event = ticket_opened()
    envelope = event.to_cloudevent()
    assert envelope.subject == str(event.ticket_id)
    assert envelope.type == "firstcall.ticket.opened"
    assert envelope.dataschema == "https://firstcall.dev/schemas/events/ticket.opened/v1"
    assert uuid.UUID(envelope.id)


def test_envelope_carries_the_correlation_id_of_the_work_that_caused_it() -> None:
    set_correlation_id("call-42")
    try:
        assert ticket_opened().to_cloudevent().correlationid == "call-42"
    finally:
        set_correlation_id(None)


def test_parse_gives_back_the_typed_event() -> None:
    event = ticket_opened()
    assert parse(event.to_cloudevent()) == event


def test_an_unknown_version_is_not_mistaken_for_a_known_one() -> None:
    envelope = (
        ticket_opened()
        .to_cloudevent()
        .model_copy(update={"dataschema": "https://firstcall.dev/schemas/events/ticket.opened/v9"})
    )
    assert event_class(envelope) is None
    assert parse(envelope) is None


def test_invalid_data_does_not_parse() -> None:
    envelope = ticket_opened().to_cloudevent().model_copy(update={"data": {"ticket_id": "not-a-uuid"}})
    with pytest.raises(ValidationError):
        parse(envelope)


def test_an_event_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register(TicketOpened)


def test_every_catalogued_event_names_its_producer_topic_and_summary() -> None:
    for cls in catalogue():
        # commerce is the one outside producer: firstcall consumes its orders, never publishes them.
        assert cls.producer in {"router", "knowledge", "notifier", "commerce"}
        assert cls.topic.name.startswith("firstcall.")
        assert cls.summary
        assert cls.name.islower()
