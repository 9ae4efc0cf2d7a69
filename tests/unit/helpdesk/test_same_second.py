"""RT keeps LastUpdated to the second: a ticket read back within the second of its last change may change
again in that same second, and RT bumps LastUpdated before the change's transaction can be read. Found by
`python -m bench helpdesk_sync`: one agent's credit fields in 31 were never read back."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from services.helpdesk.desk.port import ChangedTickets
from tests.unit.helpdesk.conftest import Desk
from tests.unit.helpdesk.fake_rt import FakeRT


def rt_clock_at(desk: Desk, instant: datetime) -> None:
    """RT's clock (the Date of its answer, what the reader settles changes against) reads `instant`."""

    async def changed_tickets(*, since: datetime, limit: int, page: int = 1) -> ChangedTickets:
        found = await FakeRT.changed_tickets(desk.rt, since=since, limit=limit, page=page)
        return dataclasses.replace(found, now=instant)

    desk.rt.changed_tickets = changed_tickets  # type: ignore[method-assign]


async def test_an_agents_change_in_the_second_a_ticket_was_read_back_is_still_read_back(desk: Desk) -> None:
    await desk.agent("Grace")
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()
    rt_id = await desk.rt_ticket_of(ticket)
    second = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10)
    rt_ticket = desk.rt.tickets[rt_id]
    rt_ticket.updated_at = second  # the agent saves the form: RT has bumped LastUpdated, no change shows yet
    rt_clock_at(desk, second + timedelta(milliseconds=500))
    await desk.read_rt()

    seen = len(desk.rt.history)
    desk.rt.set_fields(rt_id, "grace", resolution="credit", amount="25.00", currency="EUR", reason="late delivery")
    desk.rt.history[seen:] = [dataclasses.replace(c, at=second) for c in desk.rt.history[seen:]]
    rt_ticket.updated_at = second  # RT stores seconds: the form's changes leave LastUpdated where it was
    rt_clock_at(desk, second + timedelta(seconds=3))
    await desk.read_rt()

    resolved = await desk.firstcall_ticket(ticket)
    assert (resolved["status"], resolved["resolution_type"]) == ("resolved", "credit")
