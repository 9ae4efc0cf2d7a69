"""Profile corrections and offered fixes on PostgreSQL with two router replicas: identities claimed by two
customers at once, a merge undone exactly, two undos racing, and a fix offered then accepted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.router.customers.models import CustomerMergeMove
from shared.events.catalogue import ProblemResolved
from tests.factories import agent_request, order_request, ticket_request
from tests.integration.router.replicas import Replica, router_replicas

pytestmark = pytest.mark.integration


@pytest.fixture
async def replicas(tmp_path: Path, pg_url: str) -> AsyncIterator[list[Replica]]:
    async with router_replicas(tmp_path, pg_url, sla_check_seconds=3600, close_check_seconds=3600) as started:
        yield started


async def _customer(client: httpx.AsyncClient, **identities: str) -> dict[str, Any]:
    ticket = (await client.post("/v1/tickets", json=ticket_request(channel="email", customer=identities))).json()
    return {"id": ticket["customer_id"], "ticket_id": ticket["id"]}


async def test_one_identity_claimed_for_two_customers_at_once_goes_to_one_and_the_other_is_told(
    replicas: list[Replica],
) -> None:
    (_, first), (_, second) = replicas
    ada = await _customer(first, email="ada@example.com")
    bob = await _customer(first, email="bob@example.com")
    for n in range(5):
        phone = {"kind": "phone", "value": f"+4420794609{n:02d}"}
        responses = await asyncio.gather(
            first.post(f"/v1/customers/{ada['id']}/identities", json=phone),
            second.post(f"/v1/customers/{bob['id']}/identities", json=phone),
        )
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        [refused] = [r.json() for r in responses if r.status_code == 409]
        [winner] = [c for c, r in zip((ada, bob), responses, strict=True) if r.status_code == 201]
        assert refused["rule"] == "identity-belongs-to-another-customer"
        assert refused["customer_id"] == winner["id"]


async def test_a_merge_is_undone_exactly_and_two_undos_racing_undo_it_once(replicas: list[Replica]) -> None:
    (runtime, first), (_, second) = replicas
    ada = await _customer(first, email="ada@example.com")
    other = await _customer(first, phone="+15551234567")
    await first.post("/v1/orders", json=order_request(customer={"phone": "+15551234567"}))
    merged = await first.post(
        f"/v1/customers/{ada['id']}/merge", json={"merge_customer_id": other["id"], "reason": "x"}
    )
    assert merged.status_code == 200, merged.text
    async with runtime.database.session() as session:
        recorded = await session.scalar(select(func.count()).select_from(CustomerMergeMove))
    assert (recorded or 0) >= 4  # identity, ticket, order, their history entries
    body = {"merged_customer_id": other["id"], "reason": "two people"}
    responses = await asyncio.gather(
        first.post(f"/v1/customers/{ada['id']}/unmerge", json=body),
        second.post(f"/v1/customers/{ada['id']}/unmerge", json=body),
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    [undone] = [r.json() for r in responses if r.status_code == 200]
    assert (undone["moved_back"]["tickets"], undone["moved_back"]["orders"]) == (1, 1)
    restored = (await second.get(f"/v1/customers/{other['id']}")).json()
    assert restored["merged_into_id"] is None
    assert [i["value"] for i in restored["identities"]] == ["+15551234567"]
    assert (await second.get(f"/v1/tickets/{other['ticket_id']}")).json()["customer_id"] == other["id"]


async def test_a_fix_is_offered_to_a_member_ticket_and_accepted_once_across_replicas(
    replicas: list[Replica],
) -> None:
    (runtime, first), (_, second) = replicas
    agent = (await first.post("/v1/agents", json=agent_request())).json()
    ticket = (await first.post("/v1/tickets", json=ticket_request(channel="email"))).json()
    event = ProblemResolved(
        problem_id=uuid.uuid4(),
        ticket_ids=[uuid.UUID(ticket["id"])],
        resolution="Fixed in 2.4.1",
        resolved_at=datetime.now(UTC),
    )
    await runtime.bus.publish(event.topic.name, [event.to_cloudevent()])
    await runtime.bus.wait_idle()  # type: ignore[attr-defined]
    context = (await second.get(f"/v1/tickets/{ticket['id']}/context")).json()
    assert context["offered_resolution"]["status"] == "offered"
    path = f"/v1/tickets/{ticket['id']}/offered-resolution/accept"
    responses = await asyncio.gather(
        first.post(path, json={"agent_id": agent["id"]}), second.post(path, json={"agent_id": agent["id"]})
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert (await second.get(f"/v1/tickets/{ticket['id']}")).json()["status"] == "resolved"
