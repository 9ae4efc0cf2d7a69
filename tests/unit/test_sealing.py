"""Sealing personal fields with a customer's key: round trip, and nothing opens that was moved or altered."""

from __future__ import annotations

import uuid

import pytest

from shared.events.catalogue import TicketOpened
from shared.sealing import (
    PREFIX,
    SealError,
    key_encryption_key,
    new_data_key,
    open_data,
    open_value,
    seal_data,
    seal_value,
    sealed_fields,
    to_seal,
    unwrap_key,
    wrap_key,
)
from tests.factories import ticket_opened

OPENED = TicketOpened.cloudevent_type()


def _opened_data() -> dict[str, object]:
    event = ticket_opened(customer_name="Ada Lovelace", attributes={"phone": "+44 20 7946 0000"})
    return event.model_dump(mode="json")


def test_a_sealed_ticket_opened_opens_to_the_same_data() -> None:
    key, data = new_data_key(), _opened_data()
    sealed = seal_data(OPENED, data, key)
    assert sorted(sealed_fields(sealed)) == ["attributes", "customer_name", "description", "subject"]
    assert "Ada Lovelace" not in str(sealed)
    assert "7946" not in str(sealed)
    assert sealed["customer_id"] == data["customer_id"]
    assert sealed["channel"] == data["channel"]
    assert open_data(sealed, key) == data
    assert TicketOpened.model_validate(open_data(sealed, key)) == TicketOpened.model_validate(data)


def test_every_value_seals_into_a_string_with_the_version_prefix() -> None:
    key, customer = new_data_key(), str(uuid.uuid4())
    for value in ("text", [{"kind": "email", "value": "a@example.com"}], {"order": 42}):
        sealed = seal_value(key, customer, "field", value)
        assert sealed.startswith(PREFIX)
        assert open_value(key, customer, "field", sealed) == value


def test_sealing_twice_gives_different_ciphertexts() -> None:
    key, customer = new_data_key(), str(uuid.uuid4())
    assert seal_value(key, customer, "subject", "same") != seal_value(key, customer, "subject", "same")


def test_a_tampered_value_does_not_open() -> None:
    key, customer = new_data_key(), str(uuid.uuid4())
    sealed = seal_value(key, customer, "subject", "Cannot log in")
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SealError):
        open_value(key, customer, "subject", flipped)
    with pytest.raises(SealError):
        open_value(key, customer, "subject", PREFIX + "not base64!")


def test_a_value_moved_to_another_customer_or_field_does_not_open() -> None:
    key, customer = new_data_key(), str(uuid.uuid4())
    sealed = seal_value(key, customer, "subject", "Cannot log in")
    with pytest.raises(SealError):
        open_value(key, str(uuid.uuid4()), "subject", sealed)
    with pytest.raises(SealError):
        open_value(key, customer, "description", sealed)
    with pytest.raises(SealError):
        open_value(new_data_key(), customer, "subject", sealed)


def test_a_wrapped_key_unwraps_only_for_its_customer_and_secret() -> None:
    kek, key, customer = key_encryption_key("a" * 40), new_data_key(), str(uuid.uuid4())
    wrapped = wrap_key(kek, key, customer)
    assert len(wrapped) == 60
    assert key not in wrapped
    assert unwrap_key(kek, wrapped, customer) == key
    with pytest.raises(SealError):
        unwrap_key(kek, wrapped, str(uuid.uuid4()))
    with pytest.raises(SealError):
        unwrap_key(key_encryption_key("b" * 40), wrapped, customer)


def test_events_without_personal_words_are_not_sealed() -> None:
    data = ticket_opened().model_dump(mode="json")
    assert to_seal(OPENED, data) == data["customer_id"]
    assert to_seal("firstcall.ticket.assigned", data) is None
    assert to_seal(OPENED, {**data, "customer_id": None}) is None
    assert seal_data(OPENED, {**data, "customer_name": None}, new_data_key())["customer_name"] is None
