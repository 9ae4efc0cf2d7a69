"""Decoding records for `events tail` and choosing which to show."""

from __future__ import annotations

import pytest

from services.ops.events import EventFilter, decode, line
from shared.bus.port import Record
from tests.unit.ops.records import event_record, opened


def test_a_record_decodes_to_its_envelope_and_place() -> None:
    event = opened("call-7")
    view = decode(event_record(event, partition=2, offset=41))
    assert (view.topic, view.partition, view.offset) == ("firstcall.tickets", 2, 41)
    assert (view.type, view.subject, view.correlation_id, view.id) == (
        "firstcall.ticket.opened",
        event.subject,
        "call-7",
        event.id,
    )
    assert view.data["ticket_id"] == event.subject
    assert view.malformed is None
    assert line(view).split("  ")[1:4] == [
        "firstcall.tickets/2@41",
        "firstcall.ticket.opened",
        f"subject={event.subject}",
    ]


def test_a_record_that_is_no_cloudevent_is_still_shown_with_why() -> None:
    view = decode(Record("firstcall.tickets", 0, 3, None, b"not json", [], 0))
    assert view.malformed is not None
    assert view.type is None
    assert view.data == "not json"
    assert "not a CloudEvent" in line(view)


@pytest.mark.parametrize("pattern", ["ticket.opened", "firstcall.ticket.opened", "ticket.*", "*.opened"])
def test_a_type_matches_with_or_without_the_firstcall_prefix_and_as_a_pattern(pattern: str) -> None:
    assert EventFilter(types=(pattern,)).matches(decode(event_record(opened())))


def test_every_given_condition_must_hold() -> None:
    view = decode(event_record(opened("call-1")))
    assert EventFilter(subject=view.subject, correlation_id="call-1").matches(view)
    assert not EventFilter(subject=view.subject, correlation_id="call-2").matches(view)
    assert not EventFilter(types=("ticket.resolved",), subject=view.subject).matches(view)
    assert EventFilter(types=("ticket.resolved", "ticket.opened")).matches(view)
    assert not EventFilter(types=("ticket.opened",)).matches(decode(Record("t", 0, 0, None, b"x", [], 0)))
