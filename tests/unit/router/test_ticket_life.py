"""A ticket's life: one table of transitions, driven pair by pair, and each move audited and announced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest

from services.router.routing.sla import escalate_overdue
from services.router.tickets.closing import QuietPeriodCloser
from services.router.tickets.life import STATUSES, Trigger, refusal
from shared.events.catalogue import StatusTrigger
from tests.factories import agent_request, order_request, ticket_request
from tests.unit.router.conftest import RouterHarness

S, R = Trigger.STATUS_CHANGE, Trigger.RESOLUTION
# The life as docs/router.md states it, written out here independently of the code's table.
ALLOWED = {
    ("open", "pending_customer", S),
    ("open", "on_hold", S),
    ("open", "cancelled", S),
    ("open", "pending_approval", Trigger.APPROVAL_REQUESTED),
    ("open", "resolved", R),
    ("pending_customer", "open", S),
    ("pending_customer", "on_hold", S),
    ("pending_customer", "cancelled", S),
    ("pending_customer", "pending_approval", Trigger.APPROVAL_REQUESTED),
    ("pending_customer", "resolved", R),
    ("on_hold", "open", S),
    ("on_hold", "pending_customer", S),
    ("on_hold", "cancelled", S),
    ("on_hold", "pending_approval", Trigger.APPROVAL_REQUESTED),
    ("on_hold", "resolved", R),
    ("pending_approval", "open", Trigger.APPROVAL_DENIED),
    ("pending_approval", "open", Trigger.APPROVAL_WITHDRAWN),
    ("pending_approval", "resolved", Trigger.APPROVAL_APPROVED),
    ("resolved", "open", Trigger.REOPEN),
    ("resolved", "closed", Trigger.QUIET_PERIOD),
    ("resolved", "closed", S),
}
EVERY_MOVE = [(a, b, t) for a in STATUSES for b in STATUSES for t in Trigger]


@pytest.mark.parametrize(("current", "target", "trigger"), EVERY_MOVE)
def test_the_table_allows_exactly_the_documented_moves(current: Any, target: Any, trigger: Trigger) -> None:
    refused = refusal(current, target, trigger)
    assert (refused is None) == ((current, target, trigger) in ALLOWED), refused


@pytest.mark.parametrize(
    ("current", "target", "trigger", "rule"),
    [
        ("closed", "open", Trigger.REOPEN, "ticket-final"),
        ("cancelled", "open", S, "ticket-final"),
        ("open", "open", S, "same-status"),
        ("resolved", "on_hold", S, "no-such-transition"),
        ("open", "resolved", S, "transition-has-its-own-operation"),
        ("pending_approval", "open", S, "transition-has-its-own-operation"),
    ],
)
def test_a_refusal_names_its_rule(current: Any, target: Any, trigger: Trigger, rule: str) -> None:
    refused = refusal(current, target, trigger)
    assert refused is not None
    assert refused.rule == rule


def test_the_events_triggers_are_the_tables() -> None:
    assert {t.value for t in Trigger} == set(get_args(StatusTrigger))


async def _assigned_ticket(router: RouterHarness, **agent: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    staff = await router.agent(**agent)
    ticket = (await router.post("/v1/tickets", ticket_request(channel="phone"))).json()
    assert ticket["agent_id"] == staff["id"]
    return staff, ticket


async def _move(router: RouterHarness, ticket_id: str, **body: Any) -> Any:
    return await router.post(f"/v1/tickets/{ticket_id}/status", body)


async def test_waiting_for_the_customer_is_audited_announced_and_in_the_history(router: RouterHarness) -> None:
    staff, ticket = await _assigned_ticket(router)
    moved = await _move(router, ticket["id"], status="pending_customer", reason="asked for the receipt")
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "pending_customer"
    changes = (await router.client.get(f"/v1/tickets/{ticket['id']}/status-changes")).json()
    assert [(c["from_status"], c["to_status"], c["trigger"], c["reason"]) for c in changes] == [
        ("open", "pending_customer", "status-change", "asked for the receipt")
    ]
    assert changes[0]["actor"] == "admin"
    [event] = await router.published("firstcall.ticket.status_changed")
    assert (event.data["previous"], event.data["status"], event.data["agent_id"]) == (
        "open",
        "pending_customer",
        staff["id"],
    )
    history = (await router.client.get(f"/v1/customers/{ticket['customer_id']}/history")).json()["items"]
    assert history[0]["kind"] == "ticket.status"


async def test_a_refused_move_is_a_409_naming_the_rule_and_changes_nothing(router: RouterHarness) -> None:
    _, ticket = await _assigned_ticket(router)
    refused = await _move(router, ticket["id"], status="resolved")
    assert refused.status_code == 409
    problem = refused.json()
    assert (problem["rule"], problem["from_status"], problem["to_status"]) == (
        "transition-has-its-own-operation",
        "open",
        "resolved",
    )
    assert "POST /v1/tickets/{id}/resolutions" in problem["detail"]
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["status"] == "open"
    assert await router.published("firstcall.ticket.status_changed") == []


async def test_asking_for_the_status_a_ticket_has_is_a_harmless_retry(router: RouterHarness) -> None:
    _, ticket = await _assigned_ticket(router)
    first = await _move(router, ticket["id"], status="on_hold")
    again = await _move(router, ticket["id"], status="on_hold")
    assert (first.status_code, again.status_code) == (200, 200)
    assert len(await router.published("firstcall.ticket.status_changed")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "cancelled"}, "body.cancel_reason"),
        ({"status": "cancelled", "cancel_reason": "duplicate"}, "body.duplicate_of"),
        ({"status": "on_hold", "cancel_reason": "spam"}, "body.cancel_reason"),
        (
            {"status": "cancelled", "cancel_reason": "spam", "duplicate_of": "6f1c2b7e-9a43-4c1d-8a52-0d8f3b8f2a11"},
            "body.duplicate_of",
        ),
        (
            {
                "status": "cancelled",
                "cancel_reason": "duplicate",
                "duplicate_of": "6f1c2b7e-9a43-4c1d-8a52-0d8f3b8f2a11",
            },
            "body.duplicate_of",
        ),
    ],
)
async def test_a_cancellation_says_why(router: RouterHarness, body: dict[str, Any], field: str) -> None:
    _, ticket = await _assigned_ticket(router)
    response = await _move(router, ticket["id"], **body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_a_duplicate_is_cancelled_naming_the_original_and_is_final(router: RouterHarness) -> None:
    original = (await router.post("/v1/tickets", ticket_request())).json()
    repeat = (await router.post("/v1/tickets", ticket_request(subject="Card declined again"))).json()
    body = {"status": "cancelled", "cancel_reason": "duplicate", "duplicate_of": original["id"], "reason": "twice"}
    cancelled = await _move(router, repeat["id"], **body)
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["cancel_reason"], cancelled.json()["duplicate_of_id"]) == ("duplicate", original["id"])
    reopened = await router.post(f"/v1/tickets/{repeat['id']}/reopen", {"reason": "no"})
    assert (reopened.status_code, reopened.json()["rule"]) == (409, "ticket-final")
    assert (await router.client.patch(f"/v1/tickets/{repeat['id']}", json={"priority": "high"})).status_code == 409


async def test_a_cancelled_ticket_counts_in_no_first_contact_figure(router: RouterHarness) -> None:
    spam = (await router.post("/v1/tickets", ticket_request(subject="WIN A PRIZE"))).json()
    await router.post("/v1/tickets", ticket_request())
    await _move(router, spam["id"], status="cancelled", cancel_reason="spam")
    figures = (await router.client.get("/v1/stats")).json()["groups"]["all"]
    assert (figures["tickets"], figures["cancelled"]) == (1, 1)


async def test_waiting_for_the_customer_pauses_the_first_response_clock(router: RouterHarness) -> None:
    _, ticket = await _assigned_ticket(router)
    due = datetime.fromisoformat(ticket["first_response_due_at"])
    paused = (await _move(router, ticket["id"], status="pending_customer")).json()
    assert paused["sla_paused_at"] is not None
    resumed = (await _move(router, ticket["id"], status="open")).json()
    pause = datetime.fromisoformat(resumed["status_changed_at"]) - datetime.fromisoformat(paused["sla_paused_at"])
    assert datetime.fromisoformat(resumed["first_response_due_at"]) == due + pause
    assert resumed["sla_paused_at"] is None
    assert resumed["sla_paused_seconds"] == round(pause.total_seconds())


async def test_a_paused_ticket_is_not_escalated_and_an_on_hold_one_is(router: RouterHarness) -> None:
    _, waiting = await _assigned_ticket(router, capacity={"phone": 2})
    on_hold = (await router.post("/v1/tickets", ticket_request(channel="phone", subject="Other"))).json()
    await _move(router, waiting["id"], status="pending_customer")
    await _move(router, on_hold["id"], status="on_hold")
    later = datetime.now(UTC) + timedelta(days=1)
    async with router.runtime.database.session() as session:
        escalated = await escalate_overdue(session=session, now=later)
        await session.commit()
    assert [str(ticket.id) for ticket, _ in escalated] == [on_hold["id"]]


async def test_a_ticket_waiting_for_the_customer_frees_its_agent_for_the_queue(router: RouterHarness) -> None:
    staff, ticket = await _assigned_ticket(router, capacity={"phone": 1})
    queued = (await router.post("/v1/tickets", ticket_request(channel="phone", subject="Next caller"))).json()
    assert queued["agent_id"] is None
    await _move(router, ticket["id"], status="pending_customer")
    assert (await router.client.get(f"/v1/tickets/{queued['id']}")).json()["agent_id"] == staff["id"]
    back = await _move(router, ticket["id"], status="open")  # the customer answered: the agent keeps it
    assert (back.status_code, back.json()["agent_id"]) == (200, staff["id"])


async def test_a_resolution_ends_a_wait_for_the_customer(router: RouterHarness) -> None:
    staff, ticket = await _assigned_ticket(router)
    await _move(router, ticket["id"], status="pending_customer")
    body = {"type": "answer", "reason": "the customer found the receipt", "agent_id": staff["id"]}
    resolved = await router.post(f"/v1/tickets/{ticket['id']}/resolutions", body)
    assert resolved.status_code == 201, resolved.text
    changes = (await router.client.get(f"/v1/tickets/{ticket['id']}/status-changes")).json()
    assert [(c["to_status"], c["trigger"]) for c in changes][-1] == ("resolved", "resolution")


async def test_resolved_tickets_close_after_the_quiet_period_and_stay_closed(router: RouterHarness) -> None:
    staff, ticket = await _assigned_ticket(router)
    answer = {"type": "answer", "reason": "explained", "agent_id": staff["id"]}
    assert (await router.post(f"/v1/tickets/{ticket['id']}/resolutions", answer)).status_code == 201
    closer = QuietPeriodCloser(database=router.runtime.database, settings=router.components.settings)
    assert await closer.sweep(now=datetime.now(UTC) + timedelta(days=1)) == 0
    assert await closer.sweep(now=datetime.now(UTC) + timedelta(days=8)) == 1
    closed = (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()
    assert closed["status"] == "closed"
    changes = (await router.client.get(f"/v1/tickets/{ticket['id']}/status-changes")).json()
    assert (changes[-1]["trigger"], changes[-1]["actor"]) == ("quiet-period", "router:quiet-period")
    reopened = await router.post(f"/v1/tickets/{ticket['id']}/reopen", {"reason": "again"})
    assert (reopened.status_code, reopened.json()["rule"]) == (409, "ticket-final")


async def _approval(router: RouterHarness) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    staff, ticket = await _assigned_ticket(router)
    order = (await router.post("/v1/orders", order_request())).json()
    body = {"type": "credit", "order_id": order["id"], "amount": "80.00", "currency": "EUR", "reason": "late"}
    body["agent_id"] = staff["id"]
    asked = await router.post(f"/v1/tickets/{ticket['id']}/resolutions", body)
    assert asked.status_code == 202, asked.text
    return staff, ticket, asked.json()["approval"]


async def test_a_denied_approval_answers_denied_and_the_agent_keeps_the_open_ticket(router: RouterHarness) -> None:
    supervisor = await router.agent(
        display_name="Sam", role="supervisor", email="sam@contact.example", status="offline"
    )
    staff, ticket, approval = await _approval(router)
    decision = {"approved": False, "note": "over the cap", "supervisor_id": supervisor["id"]}
    denied = await router.post(f"/v1/approvals/{approval['id']}/decision", decision)
    assert denied.status_code == 200, denied.text
    assert (denied.json()["outcome"], denied.json()["ticket_status"]) == ("denied", "open")
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["agent_id"] == staff["id"]


async def test_the_agent_who_asked_withdraws_a_pending_approval(router: RouterHarness) -> None:
    staff, _ticket, approval = await _approval(router)
    own = await router.key("agent", agent_id=staff["id"])
    withdrawn = await router.client.post(
        f"/v1/approvals/{approval['id']}/withdrawal", json={"reason": "a replacement instead"}, headers=own
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["outcome"], withdrawn.json()["ticket_status"]) == ("withdrawn", "open")
    assert (await router.client.get(f"/v1/approvals/{approval['id']}")).json()["status"] == "withdrawn"
    again = await router.client.post(f"/v1/approvals/{approval['id']}/withdrawal", json={}, headers=own)
    assert again.status_code == 409
    [event] = [e for e in await router.published("firstcall.ticket.status_changed") if e.data["status"] == "open"]
    assert (event.data["trigger"], event.data["approval_id"]) == ("approval-withdrawn", approval["id"])


async def test_another_agent_cannot_withdraw_an_approval(router: RouterHarness) -> None:
    _, _, approval = await _approval(router)
    other = await router.agent(**{**agent_request(), "display_name": "Other", "email": "other@contact.example"})
    response = await router.post(f"/v1/approvals/{approval['id']}/withdrawal", {"agent_id": other["id"]})
    assert (response.status_code, response.json()["rule"]) == (403, "approval-of-another-agent")
    assert (await router.client.get(f"/v1/approvals/{approval['id']}")).json()["status"] == "pending"
