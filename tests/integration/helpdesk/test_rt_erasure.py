"""Erasure in the real RT 5 through REST 2.0: the ticket's subject and the requestor user are blanked, by
the adapter alone and by the bridge on Kafka and PostgreSQL when the router publishes CustomerErased."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from services.helpdesk.desk.port import NewTicket
from services.helpdesk.desk.request_tracker import RequestTracker
from shared.redaction import ERASED
from tests.conftest import wait_until
from tests.erasure_scenario import EMAIL, NAME, traces_left
from tests.integration.helpdesk.conftest import WAIT, RealDesk, rt_ticket
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


async def test_a_customer_erased_in_firstcall_is_erased_by_the_bridge_and_in_rt(real_desk: RealDesk) -> None:
    bridge = await real_desk.start_bridge()
    ticket = await real_desk.open_ticket(
        customer={"email": EMAIL, "name": NAME}, subject=f"Refund for {NAME}", description=f"Write to {EMAIL}."
    )
    rt_id = await real_desk.rt_id(ticket)
    assert await traces_left(bridge.database), "the bridge must hold the customer's data first"

    erased = await real_desk.router.request(
        "DELETE", f"/v1/customers/{ticket['customer_id']}", json={"reason": "GDPR art. 17, ref. DPO-114"}
    )
    assert erased.status_code == 202, erased.text

    async def blanked() -> bool | None:
        return (await rt_ticket(rt_id)).get("Subject") == ERASED or None

    await wait_until(blanked, timeout=WAIT, every=0.5)
    assert await traces_left(bridge.database) == []
    [requestor] = (await rt_ticket(rt_id))["Requestor"]
    assert str(requestor["id"]).startswith("erased-")
