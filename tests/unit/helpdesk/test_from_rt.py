"""RT -> firstcall: what agents do in RT is applied through the router's API as them, and RT hears the outcome."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event

from services.router.ledger.models import Approval, LedgerEntry
from services.router.tickets.models import TicketNote, Transfer
from tests.unit.helpdesk.conftest import Desk


async def assigned_ticket(desk: Desk, **ticket: Any) -> tuple[dict[str, Any], int]:
    """Grace (credit up to 50 EUR) has a ticket in firstcall and in RT, with her context comment."""
    await desk.agent("Grace")
    opened = await desk.open_ticket(**ticket)
    await desk.carry_out_effects()
    return opened, await desk.rt_ticket_of(opened)


async def test_an_agents_reply_in_rt_is_the_first_response_and_the_bridges_own_comments_are_not(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    desk.rt.reply(rt_id, "grace", "Hello Ada, your card is unblocked now.")
    await desk.read_rt()

    assert (await desk.firstcall_ticket(ticket))["first_responded_at"] is not None
    assert await desk.count_in_router(TicketNote, ticket_id=uuid.UUID(ticket["id"])) == 1
    assert await desk.count_in_router(TicketNote, body="Hello Ada, your card is unblocked now.", public=True) == 1


async def test_a_customers_own_reply_is_not_an_agents_response(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    desk.rt.reply(rt_id, "ada@example.com", "Any news?")
    await desk.read_rt()

    assert (await desk.firstcall_ticket(ticket))["first_responded_at"] is None
    assert await desk.count_in_router(TicketNote) == 0


async def test_credit_fields_within_authority_resolve_at_first_contact_and_rt_shows_the_outcome(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    desk.rt.set_fields(rt_id, "grace", resolution="credit", amount="25.00", currency="EUR", reason="late delivery")
    await desk.read_rt()

    resolved = await desk.firstcall_ticket(ticket)
    assert (resolved["status"], resolved["resolution_type"], resolved["transfers"]) == ("resolved", "credit", 0)
    assert await desk.count_in_router(LedgerEntry, type="credit") == 1
    comments = desk.rt.comments(rt_id)
    assert any("credit: executed (within-authority)" in c or "credit: executed" in c for c in comments)
    assert any("Resolved in firstcall with credit, at first contact." in c for c in comments)
    assert desk.rt.tickets[rt_id].status == "resolved"


async def test_a_credit_above_authority_goes_to_a_supervisor_and_rt_does_not_stay_resolved(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    desk.rt.set_fields(rt_id, "grace", resolution="credit", amount="80.00", currency="EUR", reason="goodwill")
    desk.rt.set_status(rt_id, "grace", "resolved")
    await desk.read_rt()

    assert (await desk.firstcall_ticket(ticket))["status"] == "pending_approval"
    assert await desk.count_in_router(Approval, status="pending") == 1
    comments = desk.rt.comments(rt_id)
    assert any("credit: approval requested" in c for c in comments)
    assert any("is above authority" in c for c in comments)
    assert desk.rt.tickets[rt_id].status == "open"


async def test_unreadable_fields_are_named_in_rt_and_nothing_happens_in_firstcall(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    desk.rt.set_fields(rt_id, "grace", resolution="credit", amount="twenty-five", currency="EUR", reason="late")
    await desk.read_rt()

    assert (await desk.firstcall_ticket(ticket))["status"] == "open"
    assert await desk.count_in_router(LedgerEntry) == 0
    assert any(
        "did not apply the resolution" in c and "firstcall amount 'twenty-five' is not an amount like 25.00" in c
        for c in desk.rt.comments(rt_id)
    )


async def test_resolved_in_rt_without_a_resolution_is_an_answer(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    desk.rt.reply(rt_id, "grace", "Please retry the payment, it works again.")
    desk.rt.set_status(rt_id, "grace", "resolved")
    await desk.read_rt()

    resolved = await desk.firstcall_ticket(ticket)
    assert (resolved["status"], resolved["resolution_type"]) == ("resolved", "answer")
    assert any("answer: executed" in c for c in desk.rt.comments(rt_id))


async def test_reopened_in_rt_by_the_customer_is_a_reopen_in_firstcall(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    desk.rt.set_status(rt_id, "grace", "resolved")
    await desk.read_rt()
    desk.rt.set_status(rt_id, "ada@example.com", "open")
    await desk.read_rt()

    reopened = await desk.firstcall_ticket(ticket)
    assert reopened["status"] == "open"
    assert desk.rt.tickets[rt_id].fields.get("resolution") is None


async def test_an_owner_change_is_a_transfer_with_the_reason_from_its_field(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    alan = await desk.agent("Alan")
    desk.rt.set_fields(rt_id, "grace", transfer_reason="missing_skill")
    desk.rt.set_owner(rt_id, "grace", "alan")
    await desk.read_rt()

    assert (await desk.firstcall_ticket(ticket))["agent_id"] == alan["id"]
    assert await desk.count_in_router(Transfer, reason="missing_skill") == 1
    assert desk.rt.tickets[rt_id].owner == "alan"
    assert any("firstcall assigned this ticket to Alan" in c for c in desk.rt.comments(rt_id))


async def test_an_owner_nobody_knows_in_firstcall_is_undone_and_said_in_rt(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    desk.rt.users.add("temp")
    desk.rt.set_owner(rt_id, "grace", "temp")
    await desk.read_rt()

    assert (await desk.firstcall_ticket(ticket))["transfers"] == 0
    assert await desk.count_in_router(Transfer) == 0
    assert desk.rt.tickets[rt_id].owner == "grace"
    assert any("RT user temp (the new owner) is not linked to a firstcall agent" in c for c in desk.rt.comments(rt_id))


async def test_an_rt_change_firstcall_refuses_is_undone_in_rt_with_the_rule(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    alan = await desk.agent("Alan")
    desk.rt.set_owner(rt_id, "alan", "alan")  # Alan steals Grace's ticket in RT
    await desk.read_rt()

    assert (await desk.firstcall_ticket(ticket))["agent_id"] != alan["id"]
    assert desk.rt.tickets[rt_id].owner == "grace"
    assert any("ticket-of-another-agent" in c for c in desk.rt.comments(rt_id))


async def test_while_the_router_is_down_rt_changes_wait_behind_the_cursor_and_apply_once(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    desk.rt.reply(rt_id, "grace", "First answer.")
    desk.router_link.down = True
    assert await desk.bridge.reader.read_once() == 0
    assert (await desk.link(ticket["id"])).rt_last_change_id < desk.rt.history[-1].id

    desk.router_link.down = False
    await desk.read_rt()
    await desk.read_rt()
    assert await desk.count_in_router(TicketNote, body="First answer.") == 1


async def test_a_ticket_rt_will_not_show_does_not_hold_back_the_others(desk: Desk) -> None:
    await desk.agent("Grace", capacity={"phone": 5})
    hidden, shown = await desk.open_ticket(subject="First"), await desk.open_ticket(subject="Second")
    await desk.carry_out_effects()
    hidden_id, shown_id = await desk.rt_ticket_of(hidden), await desk.rt_ticket_of(shown)
    desk.rt.reply(hidden_id, "grace", "Reply on a ticket RT then hides.")
    desk.rt.reply(shown_id, "grace", "Reply on a visible ticket.")
    desk.rt.hidden.add(hidden_id)
    await desk.read_rt()

    assert (await desk.firstcall_ticket(shown))["first_responded_at"] is not None
    assert (await desk.firstcall_ticket(hidden))["first_responded_at"] is None


class KilledBeforeCommit(Exception):
    pass


async def test_a_restart_between_the_routers_answer_and_the_bridges_commit_applies_once(desk: Desk) -> None:
    ticket, rt_id = await assigned_ticket(desk)
    await desk.read_rt()  # the bridge's own changes are read: the credit is the one action left
    desk.rt.set_fields(rt_id, "grace", resolution="credit", amount="25.00", currency="EUR", reason="late")
    session_class = desk.bridge_runtime.database.sessions.kw["sync_session_class"]

    def die(_: object) -> None:
        raise KilledBeforeCommit

    event.listen(session_class, "before_commit", die)
    try:
        with pytest.raises(KilledBeforeCommit):
            await desk.bridge.reader.read_once()  # the router resolves; the bridge dies before its commit
    finally:
        event.remove(session_class, "before_commit", die)
    assert await desk.count_in_router(LedgerEntry, type="credit") == 1
    await desk.read_rt()

    assert await desk.count_in_router(LedgerEntry, type="credit") == 1
    assert (await desk.firstcall_ticket(ticket))["status"] == "resolved"
    assert sum("credit: executed" in c for c in desk.rt.comments(rt_id)) == 1
