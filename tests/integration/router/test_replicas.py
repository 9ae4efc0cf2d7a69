"""Two router replicas on one PostgreSQL database: capacity and money stay right under concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.router.customers.models import Customer, CustomerIdentity
from services.router.ledger.models import LedgerEntry
from services.router.tickets.models import Ticket
from tests.factories import agent_request, order_request, ticket_request
from tests.integration.router.replicas import Replica, router_replicas

pytestmark = pytest.mark.integration


@pytest.fixture
async def replicas(tmp_path: Path, pg_url: str) -> AsyncIterator[list[Replica]]:
    async with router_replicas(tmp_path, pg_url, sla_check_seconds=3600) as started:
        yield started


async def test_two_replicas_assigning_at_once_never_exceed_an_agents_capacity(replicas: list[Replica]) -> None:
    (_, first), (_, second) = replicas
    agent = (await first.post("/v1/agents", json=agent_request(capacity={"chat": 3}))).json()
    responses = await asyncio.gather(
        *(
            (first if i % 2 else second).post("/v1/tickets", json=ticket_request(channel="chat", subject=f"t{i}"))
            for i in range(12)
        )
    )
    assert {r.status_code for r in responses} == {201}
    assert sum(r.json()["agent_id"] == agent["id"] for r in responses) == 3
    load = (await second.get(f"/v1/agents/{agent['id']}")).json()["load"]
    assert load == {"chat": 3}


async def test_a_resolution_double_submitted_to_two_replicas_credits_once(replicas: list[Replica]) -> None:
    (runtime, first), (_, second) = replicas
    agent = (await first.post("/v1/agents", json=agent_request())).json()
    ticket = (await first.post("/v1/tickets", json=ticket_request(channel="chat"))).json()
    order = (await first.post("/v1/orders", json=order_request())).json()
    body: dict[str, Any] = {
        "type": "credit",
        "amount": "30.00",
        "currency": "EUR",
        "reason": "late delivery",
        "order_id": order["id"],
        "agent_id": agent["id"],
    }
    headers = {"Idempotency-Key": "agent-double-click"}
    path = f"/v1/tickets/{ticket['id']}/resolutions"
    responses = await asyncio.gather(
        first.post(path, json=body, headers=headers), second.post(path, json=body, headers=headers)
    )
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json() == responses[1].json()
    async with runtime.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 1


async def test_a_resolution_without_a_key_sent_twice_at_once_still_credits_once(replicas: list[Replica]) -> None:
    (runtime, first), (_, second) = replicas
    agent = (await first.post("/v1/agents", json=agent_request())).json()
    ticket = (await first.post("/v1/tickets", json=ticket_request(channel="chat"))).json()
    body = {"type": "credit", "amount": "10.00", "currency": "EUR", "reason": "sorry", "agent_id": agent["id"]}
    path = f"/v1/tickets/{ticket['id']}/resolutions"
    responses = await asyncio.gather(first.post(path, json=body), second.post(path, json=body))
    # The ticket row lock serialises them: the second finds the ticket resolved and is refused.
    assert sorted(r.status_code for r in responses) == [201, 409]
    async with runtime.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 1


async def _counts(runtime: Any) -> dict[str, int]:
    async with runtime.database.session() as session:
        return {
            model.__tablename__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Ticket, Customer, CustomerIdentity)
        }


async def test_a_ticket_sent_to_two_replicas_with_one_key_opens_once_and_both_get_its_answer(
    replicas: list[Replica],
) -> None:
    # Opening a ticket does not look its key up first: the twin does the work and loses at commit.
    (runtime, first), (_, second) = replicas
    body = ticket_request(customer={"email": "twin@example.com", "name": "Twin"})
    headers = {"Idempotency-Key": "contact-center-retry"}
    responses = await asyncio.gather(
        first.post("/v1/tickets", json=body, headers=headers), second.post("/v1/tickets", json=body, headers=headers)
    )
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json() == responses[1].json()
    assert sorted(r.headers.get("Idempotent-Replayed", "false") for r in responses) == ["false", "true"]
    later = await first.post("/v1/tickets", json=body, headers=headers)
    assert later.status_code == 201
    assert later.json() == responses[0].json()
    assert later.headers["Idempotent-Replayed"] == "true"
    assert await _counts(runtime) == {"tickets": 1, "customers": 1, "customer_identities": 1}

    reused = await second.post("/v1/tickets", json={**body, "subject": "Something else"}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert await _counts(runtime) == {"tickets": 1, "customers": 1, "customer_identities": 1}


async def test_a_new_customer_calling_twice_at_once_on_two_replicas_is_one_customer(replicas: list[Replica]) -> None:
    # The new profile and its identity are written at commit: the loser's commit conflicts and its retry finds them.
    (runtime, first), (_, second) = replicas
    body = ticket_request(customer={"email": "New.Caller@Example.com", "phone": "+44 20 7946 0000"})
    responses = await asyncio.gather(
        first.post("/v1/tickets", json=body, headers={"Idempotency-Key": "a"}),
        second.post("/v1/tickets", json=body, headers={"Idempotency-Key": "b"}),
    )
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json()["customer_id"] == responses[1].json()["customer_id"]
    assert sorted(r.json()["customer_created"] for r in responses) == [False, True]
    assert await _counts(runtime) == {"tickets": 2, "customers": 1, "customer_identities": 2}
