"""A customer's erasure reaches the bridge: its own copies go, RT's ticket and requestor are blanked, and
later events about the customer are skipped."""

from __future__ import annotations

import uuid

import pytest

from services.helpdesk.erasure import ERASE
from services.helpdesk.links.models import TicketLink
from shared.redaction import ERASED
from tests.erasure_scenario import EMAIL, NAME, PHONE, traces_left
from tests.factories import ticket_opened
from tests.unit.helpdesk import conftest
from tests.unit.helpdesk.conftest import Desk
from tests.unit.helpdesk.fake_rt import FakeRT

REASON = {"reason": "GDPR art. 17 request, ref. DPO-114"}


class ErasingRT(FakeRT):
    """The fake RT, able to blank a ticket's subject and requestor as the RT adapter does over REST."""

    async def erase_personal_data(self, ticket_id: int, *, erased: str) -> None:
        self._reachable()
        ticket = self._ticket(ticket_id)
        ticket.subject, ticket.requestor = erased, erased
        self._wrote("erase_personal_data", ticket_id)


@pytest.fixture(autouse=True)
def _erasing_rt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "FakeRT", ErasingRT)


async def _opened_and_erased(desk: Desk) -> tuple[str, int]:
    ticket = await desk.open_ticket(
        customer={"email": EMAIL, "phone": PHONE, "name": NAME},
        subject=f"Refund for {NAME}",
        description=f"Please write to {EMAIL}.",
    )
    await desk.carry_out_effects()
    rt_id = await desk.rt_ticket_of(ticket)
    assert desk.rt.tickets[rt_id].requestor == EMAIL
    assert await traces_left(desk.bridge_runtime.database), "the bridge must hold the customer's data first"
    erased = await desk.router.request("DELETE", f"/v1/customers/{ticket['customer_id']}", json=REASON)
    assert erased.status_code == 202, erased.text
    await desk.carry_out_effects()
    return str(ticket["customer_id"]), rt_id


async def test_an_erased_customer_leaves_no_trace_in_the_bridge_and_is_blanked_in_rt(desk: Desk) -> None:
    _, rt_id = await _opened_and_erased(desk)

    assert await traces_left(desk.bridge_runtime.database) == []
    rt_ticket = desk.rt.tickets[rt_id]
    assert (rt_ticket.subject, rt_ticket.requestor) == (ERASED, ERASED)
    [erase] = await desk.effects(kind=ERASE)
    assert (erase.status, erase.payload) == ("done", {})


async def test_a_ticket_event_about_an_erased_customer_arriving_late_is_skipped(desk: Desk) -> None:
    customer_id, _ = await _opened_and_erased(desk)
    late = ticket_opened(customer_id=uuid.UUID(customer_id), customer_name=NAME, subject=f"Refund for {NAME}")
    await desk.bus.publish(late.topic.name, [late.to_cloudevent()])
    await desk.carry_out_effects()

    async with desk.bridge_runtime.database.session() as session:
        assert await session.get(TicketLink, late.ticket_id) is None
    assert await traces_left(desk.bridge_runtime.database) == []
    assert len(desk.rt.tickets) == 1


async def test_a_helpdesk_that_cannot_erase_records_the_erasure_as_failed(desk: Desk) -> None:
    desk.rt.__class__ = FakeRT  # the port's default: no erasure through the API
    await _opened_and_erased(desk)

    [erase] = await desk.effects(kind=ERASE)
    assert erase.status == "failed"
    assert "cannot erase" in (erase.last_error or "")
    assert await traces_left(desk.bridge_runtime.database) == []
