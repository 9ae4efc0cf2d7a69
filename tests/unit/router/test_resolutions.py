"""Resolutions at first contact: executed within policy, approved by a supervisor, or refused by a rule."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from services.router.ledger.models import Approval, LedgerEntry
from tests.factories import order_request, ticket_request
from tests.unit.router.conftest import RouterHarness


async def setup(router: RouterHarness) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An agent with the customer's ticket, and the customer's 120.00 EUR order."""
    agent = await router.agent(capacity={"chat": 3, "phone": 1})
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    order = (await router.post("/v1/orders", order_request())).json()
    assert ticket["agent_id"] == agent["id"]
    return agent, ticket, order


async def resolve(router: RouterHarness, ticket: dict[str, Any], agent: dict[str, Any], **body: Any) -> Any:
    payload = {"type": "credit", "amount": "20.00", "currency": "EUR", "reason": "late delivery", **body}
    return await router.post(f"/v1/tickets/{ticket['id']}/resolutions", {**payload, "agent_id": agent["id"]})


async def ledger_rows(router: RouterHarness) -> int:
    async with router.runtime.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


async def test_a_credit_within_authority_is_executed_at_once_and_resolves_the_ticket(router: RouterHarness) -> None:
    agent, ticket, order = await setup(router)
    response = await resolve(router, ticket, agent, order_id=order["id"])
    assert response.status_code == 201, response.text
    outcome = response.json()
    assert outcome["outcome"] == "executed"
    assert outcome["rule"] == "within-authority"
    assert outcome["ledger_entry"]["amount"] == "20.00"
    assert outcome["ticket_status"] == "resolved"
    [credit] = await router.published("firstcall.resolution.credit_issued")
    assert credit.data["amount"] == "20.00"
    [resolved] = await router.published("firstcall.ticket.resolved")
    assert resolved.data["first_contact"] is True


async def test_above_authority_the_supervisor_approves_while_the_agent_keeps_the_ticket(router: RouterHarness) -> None:
    agent, ticket, order = await setup(router)
    response = await resolve(router, ticket, agent, amount="80.00", order_id=order["id"])
    assert response.status_code == 202
    pending = response.json()
    assert pending["outcome"] == "approval_requested"
    assert pending["rule"] == "agent-authority"
    assert "above your credit limit of 50.00 EUR" in pending["explanation"]
    waiting = (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()
    assert (waiting["status"], waiting["agent_id"]) == ("pending_approval", agent["id"])
    supervisor = await router.agent(display_name="Sup", role="supervisor", status="offline")
    decision = await router.post(
        f"/v1/approvals/{pending['approval']['id']}/decision",
        {"approved": True, "note": "loyal customer", "supervisor_id": supervisor["id"]},
    )
    assert decision.status_code == 200, decision.text
    assert decision.json()["ledger_entry"]["approved_by"] == supervisor["id"]
    assert decision.json()["ticket_status"] == "resolved"
    [approved] = await router.published("firstcall.resolution.approval_decided")
    assert approved.data["approved"] is True
    again = await router.post(
        f"/v1/approvals/{pending['approval']['id']}/decision", {"approved": False, "supervisor_id": supervisor["id"]}
    )
    assert again.status_code == 409


async def test_a_denied_approval_hands_the_ticket_back_to_its_agent(router: RouterHarness) -> None:
    agent, ticket, order = await setup(router)
    pending = (await resolve(router, ticket, agent, amount="80.00", order_id=order["id"])).json()
    supervisor = await router.agent(display_name="Sup", role="supervisor", status="offline")
    await router.post(
        f"/v1/approvals/{pending['approval']['id']}/decision", {"approved": False, "supervisor_id": supervisor["id"]}
    )
    back = (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()
    assert (back["status"], back["agent_id"]) == ("open", agent["id"])
    assert await ledger_rows(router) == 0


@pytest.mark.parametrize(
    ("body", "status", "rule"),
    [
        ({"type": "refund", "amount": "120.01"}, 422, "over-refund"),
        ({"type": "refund", "currency": "USD"}, 422, "currency-mismatch"),
        ({"type": "return", "order_id": None}, 422, "order-required"),
        ({"type": "answer", "amount": "5.00"}, 422, "answer-has-no-amount"),
    ],
)
async def test_a_resolution_against_a_hard_rule_is_refused_with_the_rule_named_and_nothing_written(
    router: RouterHarness, body: dict[str, Any], status: int, rule: str
) -> None:
    agent, ticket, order = await setup(router)
    response = await resolve(router, ticket, agent, **{"order_id": order["id"], **body})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["rule"] == rule
    assert await ledger_rows(router) == 0
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["status"] == "open"


async def test_an_order_of_another_customer_is_refused(router: RouterHarness) -> None:
    agent, ticket, _ = await setup(router)
    stranger = (await router.post("/v1/orders", order_request(customer={"email": "eve@example.com"}))).json()
    response = await resolve(router, ticket, agent, type="refund", order_id=stranger["id"])
    assert response.json()["rule"] == "order-of-another-customer"


async def test_a_resolution_on_a_resolved_ticket_is_a_409(router: RouterHarness) -> None:
    agent, ticket, order = await setup(router)
    await resolve(router, ticket, agent, order_id=order["id"])
    response = await resolve(router, ticket, agent, order_id=order["id"], reason="twice")
    assert response.status_code == 409
    assert response.json()["rule"] == "ticket-not-open"


async def test_earlier_refunds_reduce_what_is_still_refundable(router: RouterHarness) -> None:
    agent, ticket, order = await setup(router)
    await resolve(router, ticket, agent, type="refund", amount="100.00", order_id=order["id"])
    second = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    response = await resolve(router, second, agent, type="refund", amount="30.00", order_id=order["id"])
    assert response.json()["rule"] == "over-refund"
    assert "20.00 EUR still refundable" in response.json()["detail"]


async def test_a_double_submitted_resolution_credits_once(router: RouterHarness) -> None:
    agent, ticket, order = await setup(router)
    body = {
        "type": "credit",
        "amount": "20.00",
        "currency": "EUR",
        "reason": "late",
        "order_id": order["id"],
        "agent_id": agent["id"],
    }
    headers = {"Idempotency-Key": "click-twice"}
    responses = await asyncio.gather(
        *(router.client.post(f"/v1/tickets/{ticket['id']}/resolutions", json=body, headers=headers) for _ in range(2))
    )
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert await ledger_rows(router) == 1


async def test_someone_elses_ticket_needs_a_supervisor(router: RouterHarness) -> None:
    _, ticket, _ = await setup(router)
    colleague = await router.agent(display_name="Colleague", status="offline")
    colleague_key = await router.key("agent", agent_id=colleague["id"])
    response = await router.client.post(
        f"/v1/tickets/{ticket['id']}/resolutions",
        json={"type": "answer", "reason": "explained"},
        headers=colleague_key,
    )
    assert response.status_code == 403
    assert response.json()["rule"] == "ticket-of-another-agent"
    async with router.runtime.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Approval)) == 0
