"""First-response SLAs: overdue tickets are escalated, once, and announced."""

from __future__ import annotations

from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


async def test_an_overdue_ticket_is_reassigned_to_a_free_colleague(router: RouterHarness) -> None:
    slow = await router.agent(display_name="Slow", capacity={"chat": 5})
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    assert ticket["agent_id"] == slow["id"]
    quick = await router.agent(display_name="Quick", capacity={"chat": 1})
    await router.make_overdue(ticket["id"])
    assert await router.sla_monitor().sweep() == 1
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["agent_id"] == quick["id"]
    [breach] = await router.published("firstcall.ticket.sla_breached")
    assert breach.data["action"] == "reassigned"
    assert (breach.data["agent_id"], breach.data["previous_agent_id"]) == (quick["id"], slow["id"])
    assert await router.sla_monitor().sweep() == 0, "a breach is escalated once"


async def test_an_overdue_ticket_nobody_else_can_take_stays_and_the_team_lead_is_told(router: RouterHarness) -> None:
    only = await router.agent(capacity={"chat": 1})
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    await router.make_overdue(ticket["id"])
    await router.sla_monitor().sweep()
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["agent_id"] == only["id"]
    [breach] = await router.published("firstcall.ticket.sla_breached")
    assert breach.data["action"] == "team_lead_notified"
    assert (breach.data["agent_id"], breach.data["previous_agent_id"]) == (only["id"], None), "it kept the ticket"


async def test_an_overdue_waiting_ticket_moves_up_the_queue(router: RouterHarness) -> None:
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat", priority="normal"))).json()
    await router.make_overdue(ticket["id"])
    await router.sla_monitor().sweep()
    assert (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()["priority"] == "high"
    metrics = (await router.client.get("/metrics")).text
    assert 'firstcall_sla_breaches_total{action="team_lead_notified",priority="high"} 1.0' in metrics
    assert 'firstcall_queue_depth{channel="chat"} 1.0' in metrics


async def test_a_responded_ticket_is_never_breached(router: RouterHarness) -> None:
    agent = await router.agent()
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    await router.post(f"/v1/tickets/{ticket['id']}/notes", {"body": "on it", "agent_id": agent["id"]})
    await router.make_overdue(ticket["id"])
    assert await router.sla_monitor().sweep() == 0
