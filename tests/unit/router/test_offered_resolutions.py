"""A resolved problem's fix is offered to its open tickets: accepted in one call, or applied when configured."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.events.catalogue import ProblemResolved
from tests.factories import ticket_request
from tests.unit.router.conftest import RouterHarness, running_router

FIX = "The payment provider renewed its certificate; payments go through again."


def resolved(problem_id: uuid.UUID, *tickets: dict[str, Any]) -> ProblemResolved:
    return ProblemResolved(
        problem_id=problem_id,
        ticket_ids=[uuid.UUID(t["id"]) for t in tickets],
        resolution=FIX,
        fix_version="2.4.1",
        resolved_at=datetime.now(UTC),
    )


async def _open_tickets(router: RouterHarness, count: int) -> list[dict[str, Any]]:
    return [
        (
            await router.post("/v1/tickets", ticket_request(channel="email", customer={"email": f"c{n}@example.com"}))
        ).json()
        for n in range(count)
    ]


async def test_each_open_member_ticket_is_offered_the_fix_and_its_context_says_so(router: RouterHarness) -> None:
    agent = await router.agent()
    waiting, done = await _open_tickets(router, 2)
    await router.post(
        f"/v1/tickets/{done['id']}/resolutions", {"type": "answer", "reason": "explained", "agent_id": agent["id"]}
    )
    problem_id = uuid.uuid4()
    await router.deliver(resolved(problem_id, waiting, done))
    context = (await router.client.get(f"/v1/tickets/{waiting['id']}/context")).json()
    offer = context["offered_resolution"]
    assert (offer["status"], offer["answer"], offer["problem_id"]) == ("offered", FIX, str(problem_id))
    assert offer["accept"] == f"/v1/tickets/{waiting['id']}/offered-resolution/accept"
    assert (await router.client.get(f"/v1/tickets/{done['id']}/context")).json()["offered_resolution"] is None
    assert (await router.client.get(f"/v1/tickets/{done['id']}/offered-resolution")).status_code == 404
    history = (await router.client.get(f"/v1/customers/{waiting['customer_id']}/history")).json()["items"]
    assert [h["kind"] for h in history].count("resolution.offered") == 1


async def test_the_agent_accepts_the_fix_in_one_call_and_it_counts_as_a_first_contact_answer(
    router: RouterHarness,
) -> None:
    agent = await router.agent()
    [ticket] = await _open_tickets(router, 1)
    await router.deliver(resolved(uuid.uuid4(), ticket))
    path = f"/v1/tickets/{ticket['id']}/offered-resolution/accept"
    accepted = await router.post(path, {"agent_id": agent["id"]}, **{"Idempotency-Key": "accept-1"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["ticket_status"] == "resolved"
    assert accepted.json()["offer"]["status"] == "accepted"
    replay = await router.post(path, {"agent_id": agent["id"]}, **{"Idempotency-Key": "accept-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    again = await router.post(path, {"agent_id": agent["id"]})
    assert again.status_code == 409
    assert again.json()["rule"] == "offer-decided"
    [event] = await router.published("firstcall.ticket.resolved")
    assert (event.data["resolution_type"], event.data["first_contact"]) == ("answer", True)
    assert event.data["resolution_note"].startswith(FIX)
    read = (await router.client.get(f"/v1/tickets/{ticket['id']}")).json()
    assert read["resolution_type"] == "answer"


async def test_a_fix_delivered_twice_is_offered_once(router: RouterHarness) -> None:
    [ticket] = await _open_tickets(router, 1)
    problem_id = uuid.uuid4()
    await router.deliver(resolved(problem_id, ticket), resolved(problem_id, ticket))
    history = (await router.client.get(f"/v1/customers/{ticket['customer_id']}/history")).json()["items"]
    assert [h["kind"] for h in history].count("resolution.offered") == 1


async def test_accepting_where_no_fix_was_offered_is_a_404(router: RouterHarness) -> None:
    agent = await router.agent()
    [ticket] = await _open_tickets(router, 1)
    response = await router.post(f"/v1/tickets/{ticket['id']}/offered-resolution/accept", {"agent_id": agent["id"]})
    assert response.status_code == 404


@pytest.fixture
async def auto_router(tmp_path: Path) -> AsyncIterator[RouterHarness]:
    """A router whose operator set FIRSTCALL_ROUTER_AUTO_RESOLVE_ON_FIX=true."""
    async with running_router(tmp_path, auto_resolve_on_fix=True) as harness:
        yield harness


async def test_when_configured_the_fix_resolves_the_open_tickets_itself(auto_router: RouterHarness) -> None:
    agent = await auto_router.agent()
    assigned, waiting = await _open_tickets(auto_router, 2)
    await auto_router.post(
        f"/v1/tickets/{waiting['id']}/status",
        {"status": "pending_customer", "reason": "asked for a screenshot", "agent_id": agent["id"]},
    )
    await auto_router.deliver(resolved(uuid.uuid4(), assigned, waiting))
    for ticket in (assigned, waiting):
        read = (await auto_router.client.get(f"/v1/tickets/{ticket['id']}")).json()
        assert (read["status"], read["resolution_type"]) == ("resolved", "answer")
        offer = (await auto_router.client.get(f"/v1/tickets/{ticket['id']}/offered-resolution")).json()
        assert (offer["status"], offer["decided_by"]) == ("auto_resolved", "router:problem-fix")
    changes = (await auto_router.client.get(f"/v1/tickets/{assigned['id']}/status-changes")).json()
    items = changes["items"] if isinstance(changes, dict) else changes
    assert items[-1]["actor"] == "router:problem-fix"
    assert len(await auto_router.published("firstcall.ticket.resolved")) == 2
