"""Who may act on a ticket: its agent, a supervisor or admin; nobody else, through any ticket action."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from services.router.tickets.models import Ticket, TicketNote, Transfer
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness


async def assigned_ticket(router: RouterHarness) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Agent A holds a chat ticket; agent B, available with room, has a key of their own."""
    owner = await router.agent(display_name="Owner", capacity={"chat": 1})
    ticket = (await router.post("/v1/tickets", ticket_request(channel="chat"))).json()
    assert ticket["agent_id"] == owner["id"]
    other = await router.agent(display_name="Other", capacity={"chat": 5})
    return owner, ticket, other


async def stored(router: RouterHarness, ticket_id: str) -> Ticket:
    async with router.runtime.database.session() as session:
        ticket = await session.get(Ticket, uuid.UUID(ticket_id))
        assert ticket is not None
        return ticket


async def count(router: RouterHarness, model: type[Any]) -> int:
    async with router.runtime.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def assert_refused(response: Any, rule: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["rule"] == rule


async def test_an_agent_cannot_change_another_agents_ticket(router: RouterHarness) -> None:
    _, ticket, other = await assigned_ticket(router)
    key = await router.key("agent", agent_id=other["id"])
    response = await router.client.patch(f"/v1/tickets/{ticket['id']}", json={"priority": "urgent"}, headers=key)
    assert_refused(response, "ticket-of-another-agent")
    assert (await stored(router, ticket["id"])).priority == "normal"


async def test_an_agent_cannot_answer_on_another_agents_ticket(router: RouterHarness) -> None:
    _, ticket, other = await assigned_ticket(router)
    key = await router.key("agent", agent_id=other["id"])
    response = await router.client.post(f"/v1/tickets/{ticket['id']}/notes", json={"body": "hi!"}, headers=key)
    assert_refused(response, "ticket-of-another-agent")
    assert (await stored(router, ticket["id"])).first_responded_at is None
    assert await count(router, TicketNote) == 0


async def test_an_agent_cannot_transfer_another_agents_ticket_to_themselves(router: RouterHarness) -> None:
    owner, ticket, other = await assigned_ticket(router)
    key = await router.key("agent", agent_id=other["id"])
    response = await router.client.post(
        f"/v1/tickets/{ticket['id']}/transfers",
        json={"reason": "customer_request", "to_agent_id": other["id"]},
        headers=key,
    )
    assert_refused(response, "ticket-of-another-agent")
    assert (await stored(router, ticket["id"])).agent_id == uuid.UUID(owner["id"])
    assert await count(router, Transfer) == 0


async def test_an_agent_cannot_reopen_another_agents_ticket(router: RouterHarness) -> None:
    owner, ticket, other = await assigned_ticket(router)
    resolved = await router.post(
        f"/v1/tickets/{ticket['id']}/resolutions", {"type": "answer", "reason": "explained", "agent_id": owner["id"]}
    )
    assert resolved.status_code == 201
    key = await router.key("agent", agent_id=other["id"])
    response = await router.client.post(f"/v1/tickets/{ticket['id']}/reopen", json={}, headers=key)
    assert_refused(response, "ticket-of-another-agent")
    assert (await stored(router, ticket["id"])).status == "resolved"


async def test_the_contact_center_may_reopen_for_the_customer(router: RouterHarness) -> None:
    owner, ticket, _ = await assigned_ticket(router)
    await router.post(
        f"/v1/tickets/{ticket['id']}/resolutions", {"type": "answer", "reason": "explained", "agent_id": owner["id"]}
    )
    key = await router.key("contact-center")
    response = await router.client.post(f"/v1/tickets/{ticket['id']}/reopen", json={"reason": "again"}, headers=key)
    assert response.status_code == 200, response.text


async def test_the_tickets_own_agent_may_work_on_it(router: RouterHarness) -> None:
    owner, ticket, _ = await assigned_ticket(router)
    key = await router.key("agent", agent_id=owner["id"])
    patched = await router.client.patch(f"/v1/tickets/{ticket['id']}", json={"priority": "high"}, headers=key)
    assert patched.status_code == 200, patched.text
    noted = await router.client.post(f"/v1/tickets/{ticket['id']}/notes", json={"body": "on it"}, headers=key)
    assert noted.status_code == 201, noted.text
    resolved = await router.client.post(
        f"/v1/tickets/{ticket['id']}/resolutions", json={"type": "answer", "reason": "explained"}, headers=key
    )
    assert resolved.status_code == 201, resolved.text
    reopened = await router.client.post(f"/v1/tickets/{ticket['id']}/reopen", json={}, headers=key)
    assert reopened.status_code == 200, reopened.text


async def test_a_waiting_ticket_is_the_routers_to_give_not_an_agents_to_take(router: RouterHarness) -> None:
    waiting = (await router.post("/v1/tickets", ticket_request(channel="email"))).json()
    assert waiting["agent_id"] is None
    agent = await router.agent(capacity={"chat": 1})  # no email capacity: the ticket keeps waiting
    key = await router.key("agent", agent_id=agent["id"])
    note = await router.client.post(f"/v1/tickets/{waiting['id']}/notes", json={"body": "mine"}, headers=key)
    assert_refused(note, "ticket-not-assigned")
    taken = await router.client.post(
        f"/v1/tickets/{waiting['id']}/transfers",
        json={"reason": "other", "to_agent_id": agent["id"]},
        headers=key,
    )
    assert_refused(taken, "ticket-not-assigned")


async def test_a_supervisor_may_act_on_any_ticket(router: RouterHarness) -> None:
    owner, ticket, other = await assigned_ticket(router)
    supervisor = await router.agent(display_name="Sue", role="supervisor", status="offline")
    key = await router.key("supervisor", agent_id=supervisor["id"])
    noted = await router.client.post(f"/v1/tickets/{ticket['id']}/notes", json={"body": "checking"}, headers=key)
    assert noted.status_code == 201, noted.text
    moved = await router.client.post(
        f"/v1/tickets/{ticket['id']}/transfers",
        json={"reason": "customer_request", "to_agent_id": other["id"]},
        headers=key,
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["from_agent_id"] == owner["id"]


async def test_an_integration_key_acts_as_the_agent_it_names_under_the_same_rule(router: RouterHarness) -> None:
    owner, ticket, other = await assigned_ticket(router)
    helpdesk = await router.key("agent")
    as_other = await router.client.post(
        f"/v1/tickets/{ticket['id']}/notes", json={"body": "hi", "agent_id": other["id"]}, headers=helpdesk
    )
    assert_refused(as_other, "ticket-of-another-agent")
    unnamed = await router.client.patch(f"/v1/tickets/{ticket['id']}", json={"priority": "high"}, headers=helpdesk)
    assert unnamed.status_code == 422
    assert unnamed.json()["errors"][0]["field"] == "body.agent_id"
    as_owner = await router.client.post(
        f"/v1/tickets/{ticket['id']}/notes", json={"body": "hi", "agent_id": owner["id"]}, headers=helpdesk
    )
    assert as_owner.status_code == 201, as_owner.text


async def test_naming_an_agent_who_does_not_exist_is_a_422(router: RouterHarness) -> None:
    _, ticket, _ = await assigned_ticket(router)
    response = await router.post(
        f"/v1/tickets/{ticket['id']}/notes", {"body": "hi", "agent_id": "00000000-0000-4000-8000-000000000000"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.agent_id"


async def test_an_agent_key_cannot_name_another_agent(router: RouterHarness) -> None:
    owner, ticket, other = await assigned_ticket(router)
    key = await router.key("agent", agent_id=other["id"])
    response = await router.client.post(
        f"/v1/tickets/{ticket['id']}/notes", json={"body": "hi", "agent_id": owner["id"]}, headers=key
    )
    assert_refused(response, "own-agent-only")


def _ticket_actions(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation that changes a ticket: a write on /v1/tickets/{ticket_id}..., with its example body."""
    actions = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/tickets/{ticket_id}"):
            continue
        for method, operation in operations.items():
            if method == "get":
                continue
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
            actions.append((method, path, dict(schema["examples"][0])))
    return actions


async def test_every_ticket_action_refuses_another_agents_key(router: RouterHarness) -> None:
    spec = (await router.client.get("/openapi.json")).json()
    actions = _ticket_actions(spec)
    assert {(m, p.rsplit("}", 1)[-1]) for m, p, _ in actions} >= {
        ("patch", ""),
        ("post", "/notes"),
        ("post", "/transfers"),
        ("post", "/resolutions"),
        ("post", "/reopen"),
    }
    _, ticket, other = await assigned_ticket(router)
    key = await router.key("agent", agent_id=other["id"])
    for method, path, body in actions:
        response = await router.client.request(
            method, path.replace("{ticket_id}", ticket["id"]), json=body, headers=key
        )
        assert_refused(response, "ticket-of-another-agent")


@pytest.mark.parametrize("scope", ["supervisor", "admin"])
async def test_overseers_need_not_be_the_tickets_agent_to_resolve(router: RouterHarness, scope: str) -> None:
    owner, ticket, _ = await assigned_ticket(router)
    key = await router.key(scope)
    response = await router.client.post(
        f"/v1/tickets/{ticket['id']}/resolutions",
        json={"type": "answer", "reason": "explained", "agent_id": owner["id"]},
        headers=key,
    )
    assert response.status_code == 201, response.text
