"""`events tail` shows a customer's sealed fields as sealed, not as base64 (decision 0031)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from services.ops.events import decode, line
from services.ops.tickets import _trail_event
from shared.sealing import SHOWN_SEALED, new_data_key, seal_data
from tests.unit.ops.records import event_record, opened


def test_sealed_fields_show_as_sealed_and_the_rest_as_it_is() -> None:
    event = opened("call-3", customer_name="Ada Lovelace")
    sealed = event.model_copy(update={"data": seal_data(event.type, event.data, new_data_key())})
    view = decode(event_record(sealed))
    assert view.data["subject"] == SHOWN_SEALED
    assert view.data["customer_name"] == SHOWN_SEALED
    assert view.data["channel"] == event.data["channel"]
    assert view.data["ticket_id"] == event.data["ticket_id"]
    assert "fcs1:" not in line(view)
    assert f'"description":"{SHOWN_SEALED}"' in line(view)


def test_a_ticket_trail_shows_the_outbox_sealed_fields_as_sealed() -> None:
    event = opened("call-4", customer_name="Ada Lovelace")
    sealed = event.model_copy(update={"data": seal_data(event.type, event.data, new_data_key())})
    row = SimpleNamespace(
        envelope=sealed.to_json(),
        created_at=datetime.now(UTC),
        published_at=None,
        event_type=sealed.type,
        subject=sealed.subject,
        event_id=sealed.id,
    )
    shown = _trail_event("router", row)
    assert shown.data["customer_name"] == SHOWN_SEALED
    assert shown.data["channel"] == event.data["channel"]
