"""Routing end to end in the router: who gets the ticket, the queue, capacity, and the explanation."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


async def profile(router: RouterHarness, intent: str, **body: object) -> None:
    response = await router.client.put(f"/v1/intents/{intent}/profile", json=body)
    assert response.status_code == 200, response.text


async def test_a_ticket_goes_to_the_agent_with_most_spare_capacity_and_says_why(router: RouterHarness) -> None:
    small = await router.agent(display_name="Small", capacity={"chat": 1})
    large = await router.agent(display_name="Large", capacity={"chat": 4})
    response = await router.post("/v1/tickets", ticket_request(channel="chat"))
    assert response.status_code == 201
    opened = response.json()
    assert opened["agent_id"] == large["id"]
    assert opened["assignment"]["rule"] == "skills"
    assert opened["queue_position"] is None
    explanation = (await router.client.get(f"/v1/tickets/{opened['id']}/routing")).json()
    [decision] = explanation["decisions"]
    assert decision["agent_id"] == large["id"]
    assert {c["agent_id"] for c in decision["candidates"]} == {small["id"], large["id"]}


async def test_the_account_owner_gets_their_customers_ticket(router: RouterHarness) -> None:
    owner = await router.agent(display_name="Owner", capacity={"chat": 1})
    await router.agent(display_name="Roomy", capacity={"chat": 9})
    first = (await router.post("/v1/tickets", ticket_request(channel="email"))).json()
    await router.client.put(f"/v1/customers/{first['customer_id']}/owner", json={"agent_id": owner["id"]})
    second = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    assert second["agent_id"] == owner["id"]
    assert second["assignment"]["rule"] == "continuity"
    assert "account owner" in second["assignment"]["reason"]


async def test_skills_and_authority_for_the_likely_resolution_are_required(router: RouterHarness) -> None:
    await profile(router, "refund_request", required_skills={"refunds": 2}, likely_resolution="refund")
    await router.agent(display_name="First", capacity={"chat": 9})  # takes the ticket before its intent is known
    await router.agent(
        display_name="NoRefunds", authority={"credit": {"EUR": "50.00"}}, skills={"refunds": 5}, capacity={"chat": 5}
    )
    able = await router.agent(display_name="Able", capacity={"chat": 1})
    decision = await _route_with_intent(router, "refund_request")
    assert decision["agent_id"] == able["id"]
    reasons = {c["name"]: c["reasons"] for c in decision["candidates"]}
    assert reasons["NoRefunds"] == ["no authority for refund"]


async def _route_with_intent(router: RouterHarness, intent: str) -> dict[str, Any]:
    """Open a ticket, correct its intent, and route it again (a transfer for the wrong intent)."""
    opened = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    await router.post(f"/v1/tickets/{opened['id']}/transfers", {"reason": "wrong_intent", "corrected_intent": intent})
    explanation = (await router.client.get(f"/v1/tickets/{opened['id']}/routing")).json()
    decision: dict[str, Any] = explanation["decisions"][-1]
    return decision


async def test_with_nobody_free_the_ticket_waits_and_the_next_free_agent_gets_the_most_urgent(
    router: RouterHarness,
) -> None:
    agent = await router.agent(status="away", capacity={"chat": 1})
    normal = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    urgent = (await router.post("/v1/tickets", ticket_request(channel="chat", priority="urgent"))).json()
    assert normal["assignment"] is None
    assert normal["queue_position"] == 1
    assert urgent["queue_position"] == 1  # urgent goes ahead of normal
    assert (await router.client.get(f"/v1/tickets/{normal['id']}")).json()["queued_at"] is not None
    response = await router.client.patch(f"/v1/agents/{agent['id']}", json={"status": "available"})
    assert response.json()["load"] == {"chat": 1}
    assert (await router.client.get(f"/v1/tickets/{urgent['id']}")).json()["agent_id"] == agent["id"]
    assert (await router.client.get(f"/v1/tickets/{normal['id']}")).json()["agent_id"] is None


async def test_resolving_a_ticket_frees_capacity_for_the_oldest_waiting_ticket(router: RouterHarness) -> None:
    agent = await router.agent(capacity={"chat": 1})
    first = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    waiting = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    assert first["agent_id"] == agent["id"]
    assert waiting["agent_id"] is None
    resolved = await router.post(
        f"/v1/tickets/{first['id']}/resolutions", {"type": "answer", "reason": "explained", "agent_id": agent["id"]}
    )
    assert resolved.status_code == 201, resolved.text
    assert (await router.client.get(f"/v1/tickets/{waiting['id']}")).json()["agent_id"] == agent["id"]
    [assigned] = [e for e in await router.published("firstcall.ticket.assigned") if e.subject == waiting["id"]]
    assert assigned.data["rule"] == "queue"


async def test_concurrent_tickets_never_exceed_an_agents_capacity(router: RouterHarness) -> None:
    agent = await router.agent(capacity={"chat": 3})
    responses = await asyncio.gather(
        *(router.post("/v1/tickets", ticket_request(channel="chat", subject=f"t{i}")) for i in range(10))
    )
    assert {r.status_code for r in responses} == {201}
    assigned = [r.json() for r in responses if r.json()["agent_id"] == agent["id"]]
    assert len(assigned) == 3
    assert (await router.client.get(f"/v1/agents/{agent['id']}")).json()["load"] == {"chat": 3}


async def test_an_agent_may_change_only_their_own_status(router: RouterHarness) -> None:
    me = await router.agent(display_name="Me")
    other = await router.agent(display_name="Other")
    my_key = await router.key("agent", agent_id=me["id"])
    own = await router.client.patch(f"/v1/agents/{me['id']}", json={"status": "away"}, headers=my_key)
    assert own.status_code == 200
    assert own.json()["status"] == "away"
    skills = await router.client.patch(f"/v1/agents/{me['id']}", json={"skills": {"x": 5}}, headers=my_key)
    assert skills.status_code == 403
    theirs = await router.client.patch(f"/v1/agents/{other['id']}", json={"status": "away"}, headers=my_key)
    assert theirs.status_code == 403


async def test_agent_input_is_validated_field_by_field(router: RouterHarness) -> None:
    response = await router.post(
        "/v1/agents", {"display_name": "X", "skills": {"cards": 9}, "authority": {"credit": {"EUR": "-1"}}}
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"body.skills.cards", "body.authority.credit.EUR"} <= fields
    missing = await router.client.get("/v1/agents/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


async def test_routing_sees_an_agents_changed_capacity_at_once(router: RouterHarness) -> None:
    # Agents' abilities are parsed once per distinct JSON text: a change must be a new text, weighed anew.
    agent = await router.agent(display_name="Changing", capacity={"chat": 1})
    first = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    assert first["agent_id"] == agent["id"]
    waiting = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    assert waiting["assignment"] is None
    response = await router.client.patch(f"/v1/agents/{agent['id']}", json={"capacity": {"chat": 3}})
    assert response.json()["load"] == {"chat": 2}  # the waiting ticket was offered to them at once
    third = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    assert third["assignment"]["agent_id"] == agent["id"]  # 2 of 3: eligible only with the new capacity
