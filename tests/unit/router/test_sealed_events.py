"""The router seals customers' personal fields in its events, hands the key to the services, and erasure
destroys it (decision 0031)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from services.router.data_keys.models import CustomerDataKey
from services.router.data_keys.service import CustomerSealer
from services.router.desktop.notices import read_notices
from shared.events.catalogue import CustomerRegistered, TicketOpened, TicketTransferred
from shared.sealing import key_encryption_key, open_data, sealed_fields
from tests.factories import ticket_opened, ticket_request
from tests.unit.router.conftest import RouterHarness, running_router


@pytest.fixture
async def sealing_router(tmp_path: Path) -> AsyncIterator[RouterHarness]:
    async with running_sealing_router(tmp_path) as router:
        yield router


def running_sealing_router(tmp_path: Path) -> contextlib.AbstractAsyncContextManager[RouterHarness]:
    """The router in process with sealing on."""
    return running_router(tmp_path, seal_personal_fields=True)


async def test_ticket_opened_leaves_with_its_personal_fields_sealed(sealing_router: RouterHarness) -> None:
    opened = await sealing_router.post("/v1/tickets", ticket_request())
    assert opened.status_code == 201, opened.text
    (event,) = await sealing_router.published(TicketOpened.cloudevent_type())
    assert sorted(sealed_fields(event.data)) == ["attributes", "customer_name", "description", "subject"]
    assert "Ada Lovelace" not in str(event.data)
    assert "declined" not in str(event.data)
    (registered,) = await sealing_router.published(CustomerRegistered.cloudevent_type())
    assert "ada@example.com" not in str(registered.data)

    answer = await sealing_router.client.get(f"/v1/customers/{event.data['customer_id']}/data-key")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    data = open_data(event.data, base64.b64decode(answer.json()["key"]))
    assert TicketOpened.model_validate(data).customer_name == "Ada Lovelace"
    assert data["subject"] == "Card payment declined"


async def test_the_key_is_stored_only_wrapped(sealing_router: RouterHarness) -> None:
    opened = await sealing_router.post("/v1/tickets", ticket_request())
    customer_id = opened.json()["customer_id"]
    answer = await sealing_router.client.get(f"/v1/customers/{customer_id}/data-key")
    key = base64.b64decode(answer.json()["key"])
    async with sealing_router.runtime.database.session() as session:
        stored = (await session.scalars(select(CustomerDataKey.wrapped_key))).all()
    assert len(stored) == 1
    assert stored[0] is not None
    assert key not in stored[0]


async def test_after_erasure_the_key_is_gone_and_asking_for_it_is_a_410(sealing_router: RouterHarness) -> None:
    opened = await sealing_router.post("/v1/tickets", ticket_request())
    customer_id = opened.json()["customer_id"]
    erased = await sealing_router.client.request(
        "DELETE", f"/v1/customers/{customer_id}", json={"reason": "GDPR art. 17 request, ref. DPO-1"}
    )
    assert erased.status_code == 202, erased.text
    await sealing_router.runtime.relay.flush(timeout=60)
    await sealing_router.bus.wait_idle()

    answer = await sealing_router.client.get(f"/v1/customers/{customer_id}/data-key")
    assert answer.status_code == 410, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    async with sealing_router.runtime.database.session() as session:
        rows = (await session.execute(select(CustomerDataKey.wrapped_key, CustomerDataKey.erased_at))).all()
    assert len(rows) == 1
    assert rows[0].wrapped_key is None
    assert rows[0].erased_at is not None


async def test_an_unknown_customer_has_no_key(sealing_router: RouterHarness) -> None:
    answer = await sealing_router.client.get("/v1/customers/9b2f0c4e-1d3a-4a57-9f0e-2b8c6d1e7a90/data-key")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


async def test_only_a_service_key_may_ask_for_a_customer_key(sealing_router: RouterHarness) -> None:
    opened = await sealing_router.post("/v1/tickets", ticket_request())
    path = f"/v1/customers/{opened.json()['customer_id']}/data-key"
    for scope in ("contact-center", "agent", "supervisor", "ops"):
        headers = await sealing_router.key(scope)
        assert (await sealing_router.client.get(path, headers=headers)).status_code == 403, scope
    assert (await sealing_router.client.get(path, headers=await sealing_router.key("service"))).status_code == 200


async def test_a_key_made_in_a_rolled_back_transaction_is_not_sealed_with_later(
    sealing_router: RouterHarness,
) -> None:
    kek = key_encryption_key(sealing_router.components.settings.secret_key.get_secret_value())
    sealer = CustomerSealer(kek=kek)
    event = ticket_opened(customer_name="Ada Lovelace").to_cloudevent()
    async with sealing_router.runtime.database.session() as session:
        await sealer(session, [event])
        await session.rollback()
        await session.begin()
        (sealed,) = await sealer(session, [event])
        await session.commit()
    answer = await sealing_router.client.get(f"/v1/customers/{event.data['customer_id']}/data-key")
    assert answer.status_code == 200, answer.text
    assert open_data(sealed.data, base64.b64decode(answer.json()["key"]))["customer_name"] == "Ada Lovelace"


async def test_desktop_notices_carry_the_sealed_note_opened(sealing_router: RouterHarness) -> None:
    first = await sealing_router.agent(display_name="First")
    second = await sealing_router.agent(display_name="Second")
    ticket = (await sealing_router.post("/v1/tickets", ticket_request())).json()
    to = second["id"] if ticket["agent_id"] == first["id"] else first["id"]
    body = {"reason": "customer_request", "to_agent_id": to, "note": "Ada asked for Grace"}
    moved = await sealing_router.post(f"/v1/tickets/{ticket['id']}/transfers", body)
    assert moved.status_code in (200, 201), moved.text
    async with sealing_router.runtime.database.session() as session:
        found, _ = await read_notices(session, after=0, upto=10**9, limit=100, sqlite=True)
    (transferred,) = [notice for notice in found if notice.event == "ticket.transferred"]
    assert transferred.envelope["data"]["note"] == "Ada asked for Grace"
    (event,) = await sealing_router.published(TicketTransferred.cloudevent_type())
    assert sealed_fields(event.data) == ["note"]
