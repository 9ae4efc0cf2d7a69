"""Erasure in the real RT 5 through REST 2.0: the ticket's subject and the requestor user are blanked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from services.helpdesk.desk.port import NewTicket
from services.helpdesk.desk.request_tracker import RequestTracker
from shared.redaction import ERASED
from tests.rt_stack import rt_async_client, rt_token, rt_url

pytestmark = pytest.mark.integration


@pytest.fixture
async def rt() -> AsyncIterator[RequestTracker]:
    adapter = RequestTracker(base_url=rt_url(), token=rt_token(), user="firstcall-bridge", timeout=30)
    yield adapter
    await adapter.aclose()


async def test_an_erased_tickets_subject_and_requestor_lose_the_customers_data(rt: RequestTracker) -> None:
    firstcall_id = str(uuid.uuid4())
    email = f"erase-{firstcall_id[:8]}@example.com"
    rt_id = await rt.create_ticket(
        NewTicket(
            queue="firstcall",
            requestor=email,
            subject="Refund for Augusta Lovelace",
            text="Declined at checkout.",
            fields={"ticket": firstcall_id},
        )
    )
    async with rt_async_client() as client:
        user_id = (await client.get(f"user/{email}")).json()["id"]

    await rt.erase_personal_data(rt_id, erased=ERASED)
    await rt.erase_personal_data(rt_id, erased=ERASED)  # an effect retried after a crash

    async with rt_async_client() as client:
        ticket = (await client.get(f"ticket/{rt_id}")).json()
        user = (await client.get(f"user/{user_id}")).json()
    assert ticket["Subject"] == ERASED
    assert (user["Name"], user["RealName"], user.get("EmailAddress") or "") == (f"erased-{user_id}", ERASED, "")
    assert str(user["Disabled"]) == "1"
