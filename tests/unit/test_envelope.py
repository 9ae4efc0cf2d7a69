"""The CloudEvents envelope and its Kafka binary-mode binding."""

from __future__ import annotations

import orjson
import pytest

from shared.events.envelope import CloudEvent, MalformedEvent, encode, encode_structured, from_kafka, to_kafka
from tests.factories import ticket_opened


def test_kafka_record_carries_attributes_as_ce_headers_and_subject_as_key() -> None:
    event = ticket_opened().to_cloudevent()
    key, value, headers = to_kafka(event)
    names = dict(headers)
    assert key == event.subject.encode()
    assert names["ce_specversion"] == b"1.0"
    assert names["ce_type"] == b"firstcall.ticket.opened"
    assert names["ce_id"] == event.id.encode()
    assert names["ce_source"] == b"/firstcall/router"
    assert names["ce_dataschema"].endswith(b"/ticket.opened/v1")
    assert names["content-type"] == b"application/json"
    assert orjson.loads(value) == event.data


def test_envelope_survives_a_round_trip_through_kafka_encoding() -> None:
    event = ticket_opened().to_cloudevent()
    _, value, headers = to_kafka(event)
    assert from_kafka(value, headers) == event


def test_envelope_survives_a_round_trip_through_structured_json() -> None:
    event = ticket_opened().to_cloudevent()
    assert CloudEvent.from_json(event.to_json()) == event


@pytest.mark.parametrize(
    ("value", "headers"),
    [
        (b"{not json", [("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"s"), ("ce_subject", b"x")]),
        (b"{}", [("ce_type", b"firstcall.ticket.opened")]),
        (b"{}", []),
    ],
    ids=["invalid-json", "missing-attributes", "no-headers"],
)
def test_records_that_are_not_cloudevents_are_rejected_as_malformed(
    value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    with pytest.raises(MalformedEvent):
        from_kafka(value, headers)


def test_an_event_stored_as_structured_json_becomes_the_same_record_as_the_event_itself() -> None:
    event = ticket_opened().to_cloudevent().model_copy(update={"correlationid": "c-1"})
    assert encode_structured(event.to_json()) == encode(event)
