"""A new customer's data key is made with their first ticket, without reading the keys table (decision 0043)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from services.router.data_keys.models import CustomerDataKey
from shared.events.catalogue import CustomerRegistered, TicketOpened
from shared.sealing import open_data, sealed_fields
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness, running_router


@pytest.fixture
async def sealing_router(tmp_path: Path) -> AsyncIterator[RouterHarness]:
    async with running_router(tmp_path, seal_personal_fields=True) as router:
        yield router


class Statements:
    """The SQL the router's database is sent while `recording`."""

    def __init__(self, router: RouterHarness) -> None:
        self.sent: list[str] = []
        self.recording = False
        event.listen(router.runtime.database.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.recording:
            self.sent.append(" ".join(statement.split()))

    def about_keys(self) -> list[str]:
        return [s for s in self.sent if "customer_data_keys" in s]


async def _key(router: RouterHarness, customer_id: str) -> bytes:
    answer = await router.client.get(f"/v1/customers/{customer_id}/data-key")
    assert answer.status_code == 200, answer.text
    return base64.b64decode(answer.json()["key"])


async def test_a_new_customers_key_is_written_with_the_ticket_and_never_read(sealing_router: RouterHarness) -> None:
    statements = Statements(sealing_router)
    statements.recording = True
    opened = await sealing_router.post("/v1/tickets", ticket_request())
    statements.recording = False
    assert opened.status_code == 201, opened.text

    about_keys = statements.about_keys()
    assert [s.split(maxsplit=1)[0] for s in about_keys] == ["INSERT"], about_keys
    key = await _key(sealing_router, opened.json()["customer_id"])
    (ticket_event,) = await sealing_router.published(TicketOpened.cloudevent_type())
    (registered,) = await sealing_router.published(CustomerRegistered.cloudevent_type())
    assert sealed_fields(ticket_event.data)
    assert sealed_fields(registered.data)
    assert open_data(ticket_event.data, key)["customer_name"] == "Ada Lovelace"
    assert open_data(registered.data, key)["identities"] == [{"kind": "email", "value": "ada@example.com"}]


async def test_a_returning_customers_ticket_is_sealed_with_the_key_made_the_first_time(
    sealing_router: RouterHarness,
) -> None:
    first = await sealing_router.post("/v1/tickets", ticket_request())
    statements = Statements(sealing_router)
    statements.recording = True
    second = await sealing_router.post("/v1/tickets", ticket_request(subject="Still declined"))
    statements.recording = False
    assert second.status_code == 201, second.text
    assert second.json()["customer_id"] == first.json()["customer_id"]

    # Read, not made again: one row, and both tickets open with it.
    assert [s.split(maxsplit=1)[0] for s in statements.about_keys()] == ["SELECT"]
    async with sealing_router.runtime.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(CustomerDataKey)) == 1
    key = await _key(sealing_router, first.json()["customer_id"])
    subjects = [
        open_data(e.data, key)["subject"] for e in await sealing_router.published(TicketOpened.cloudevent_type())
    ]
    assert subjects == ["Card payment declined", "Still declined"]


async def test_a_ticket_retried_after_a_lost_race_keeps_one_key_for_the_customer(
    sealing_router: RouterHarness,
) -> None:
    """The same new customer in two requests at once: one creates them, the other's commit conflicts on the
    identity and its retry finds the customer, so the key made for the loser's customer was never stored."""
    answers = await asyncio.gather(
        sealing_router.post("/v1/tickets", ticket_request()),
        sealing_router.post("/v1/tickets", ticket_request(subject="Second line")),
    )
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    customers = {a.json()["customer_id"] for a in answers}
    assert len(customers) == 1
    async with sealing_router.runtime.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(CustomerDataKey)) == 1
    key = await _key(sealing_router, customers.pop())
    opened = [open_data(e.data, key)["subject"] for e in await sealing_router.published(TicketOpened.cloudevent_type())]
    assert sorted(opened) == ["Card payment declined", "Second line"]
