"""Both sides change the same ticket at once: firstcall decides, the later decision stands, the loser is told."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.helpdesk.effects.models import SUPERSEDED
from shared.events.catalogue import TicketAssigned
from tests.unit.helpdesk.conftest import Desk


async def test_an_agents_owner_change_after_firstcall_reassigned_loses_and_rt_is_told(desk: Desk) -> None:
    await desk.agent("Grace")
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()
    rt_id = await desk.rt_ticket_of(ticket)
    alan, _ = await desk.agent("Alan"), await desk.agent("Dan")
    # At the same moment: a supervisor moves the ticket to Alan in firstcall, Grace gives it to Dan in RT.
    moved = await desk.router.post(
        f"/v1/tickets/{ticket['id']}/transfers",
        json={"reason": "missing_authority", "to_agent_id": alan["id"], "agent_id": alan["id"]},
    )
    assert moved.status_code == 201, moved.text
    desk.rt.set_owner(rt_id, "grace", "dan")
    await desk.carry_out_effects()  # firstcall's owner waits: Grace's change is read back first
    assert desk.rt.tickets[rt_id].owner == "dan"
    await desk.read_rt()

    assert (await desk.firstcall_ticket(ticket))["agent_id"] == alan["id"]
    assert desk.rt.tickets[rt_id].owner == "alan"
    assert any("did not apply the owner change" in c for c in desk.rt.comments(rt_id))


async def test_a_firstcall_assignment_older_than_an_accepted_rt_change_is_not_written(desk: Desk) -> None:
    grace = await desk.agent("Grace")
    ticket = await desk.open_ticket()
    await desk.carry_out_effects()
    rt_id = await desk.rt_ticket_of(ticket)
    alan = await desk.agent("Alan")
    desk.rt.set_owner(rt_id, "grace", "alan")
    await desk.read_rt()
    stale = TicketAssigned(
        ticket_id=uuid.UUID(ticket["id"]),
        customer_id=uuid.UUID(ticket["customer_id"]),
        agent_id=uuid.UUID(grace["id"]),
        rule="escalation",
        reason="decided before the change in RT, delivered after it",
        assigned_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    await desk.bus.publish(TicketAssigned.topic.name, [stale.to_cloudevent()])
    await desk.carry_out_effects()

    assert desk.rt.tickets[rt_id].owner == "alan"
    assert (await desk.firstcall_ticket(ticket))["agent_id"] == alan["id"]
    superseded = await desk.effects(status=SUPERSEDED)
    assert {e.kind for e in superseded} == {"owner", "context"}
