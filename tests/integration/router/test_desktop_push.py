"""Desktop streams on PostgreSQL with two router replicas: what one commits, a stream on the other carries.

Outbox positions commit out of order on PostgreSQL (two transactions, two replicas); a stream must neither
skip a position that commits late nor wait forever on one that never will. Each read of a stream is
bounded by a timeout (tests/unit/router/test_desktop_push.py has the client and the served app).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.router.desktop.push import EXTENSION, DesktopPush
from shared.events.catalogue import ProblemDetected, TicketAssigned
from shared.messaging.tables import outbox
from shared.runtime import ServiceRuntime
from tests.factories import agent_request, order_request, ticket_request
from tests.integration.router.replicas import Replica, router_replicas
from tests.unit.router.test_desktop_push import EventStream, Message, served, stream

pytestmark = pytest.mark.integration
AT_RISK = "firstcall.ticket.sla_at_risk"


@pytest.fixture
async def replicas(tmp_path: Path, pg_url: str) -> AsyncIterator[list[Replica]]:
    async with router_replicas(tmp_path, pg_url, sla_check_seconds=3600) as started:
        yield started


async def agent_with_key(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, str]]:
    response = await client.post("/v1/agents", json=agent_request(capacity={"chat": 100, "phone": 1, "email": 5}))
    assert response.status_code == 201, response.text
    agent: dict[str, Any] = response.json()
    issued = await client.post("/v1/api-keys", json={"name": "desk", "scopes": ["agent"], "agent_id": agent["id"]})
    assert issued.status_code == 201, issued.text
    return agent, {"Authorization": f"Bearer {issued.json()['key']}"}


async def open_tickets(replicas: list[Replica], count: int, label: str) -> set[str]:
    """`count` tickets opened at once, alternately through each replica; their ids."""
    responses = await asyncio.gather(
        *(
            replicas[i % len(replicas)][1].post(
                "/v1/tickets", json=ticket_request(channel="chat", subject=f"{label} {i}")
            )
            for i in range(count)
        )
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    return {r.json()["id"] for r in responses}


async def assignments(events: EventStream, count: int) -> list[Message]:
    received = [await events.event() for _ in range(count)]
    assert {m.event for m in received} == {"ticket.assigned"}
    return received


def push_of(runtime: ServiceRuntime) -> DesktopPush:
    push: DesktopPush = runtime.extensions[EXTENSION]
    return push


async def test_a_stream_on_one_replica_carries_what_both_commit_and_resumes_on_the_other(
    replicas: list[Replica],
) -> None:
    (first, client), (second, _) = replicas
    _, key = await agent_with_key(client)
    async with served(first) as first_url, served(second) as second_url:
        async with stream(second_url, "/v1/agents/me/events", key) as events:
            await events.event()
            opened = await open_tickets(replicas, 12, "together")
            before = await assignments(events, len(opened))
        missed = await open_tickets(replicas, 6, "while away")
        async with stream(first_url, "/v1/agents/me/events", key, last_event_id=before[-1].id) as events:
            await events.event()
            caught_up = await assignments(events, len(missed))
            [sentinel] = await open_tickets(replicas, 1, "after")
            after = await events.event()
    assert {m.json["subject"] for m in before} == opened
    assert {m.json["subject"] for m in caught_up} == missed
    assert after.json["subject"] == sentinel, "nothing before it was sent twice"
    ids = [int(m.id or "") for m in [*before, *caught_up, after]]
    assert ids == sorted(set(ids)), "in outbox order, each once"


async def test_a_position_committed_late_is_sent_in_its_place_not_skipped(replicas: list[Replica]) -> None:
    (first, client), (second, _) = replicas
    agent, key = await agent_with_key(client)
    held = TicketAssigned(
        ticket_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        agent_id=uuid.UUID(agent["id"]),
        rule="manual",
        reason="held open",
        assigned_at=datetime.now(UTC),
    ).to_cloudevent()
    async with served(second) as url, stream(url, "/v1/agents/me/events", key) as events:
        await events.event()
        async with first.database.session() as slow:
            await slow.execute(outbox.insert().values(**_row(held)))  # takes its position now, commits later
            [later] = await open_tickets(replicas, 1, "committed first")
            # Long enough for the tail to see the later row and give the hole its grace: a tail that moved
            # past the hole now would never send the held row.
            await asyncio.sleep(2 * push_of(second).config.gap_grace_seconds)
            await slow.commit()
        received = [await events.event() for _ in range(2)]
    assert [m.json["subject"] for m in received] == [held.subject, later]
    assert int(received[0].id or "") < int(received[1].id or "")


async def test_a_position_whose_transaction_rolled_back_does_not_stop_the_stream(replicas: list[Replica]) -> None:
    (first, client), (second, _) = replicas
    agent, key = await agent_with_key(client)
    lost = TicketAssigned(
        ticket_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        agent_id=uuid.UUID(agent["id"]),
        rule="manual",
        reason="rolled back",
        assigned_at=datetime.now(UTC),
    ).to_cloudevent()
    async with served(second) as url, stream(url, "/v1/agents/me/events", key) as events:
        await events.event()
        async with first.database.session() as aborted:
            await aborted.execute(outbox.insert().values(**_row(lost)))
            await aborted.rollback()  # its position is never filled
        [ticket] = await open_tickets(replicas, 1, "after the hole")
        assigned = await events.event()
    assert assigned.json["subject"] == ticket


async def test_approvals_problems_and_at_risk_warnings_reach_the_agent_across_replicas(
    replicas: list[Replica],
) -> None:
    (first, client), (second, other_client) = replicas
    agent, key = await agent_with_key(client)
    [ticket_id] = await open_tickets(replicas, 1, "money")
    order = (await client.post("/v1/orders", json=order_request())).json()
    body = {"type": "credit", "amount": "80.00", "currency": "EUR", "reason": "late", "order_id": order["id"]}
    pending = await client.post(f"/v1/tickets/{ticket_id}/resolutions", json={**body, "agent_id": agent["id"]})
    assert pending.status_code == 202, pending.text
    supervisor = (await client.post("/v1/agents", json=agent_request(role="supervisor", status="offline"))).json()
    now = datetime.now(UTC)
    detected = ProblemDetected(
        problem_id=uuid.uuid4(),
        summary_text="Card payments declined",
        representative_reports=["declined"],
        customer_count=3,
        report_count=3,
        first_seen=now,
        last_seen=now,
        growth_per_hour=3.0,
        severity="minor",
        ticket_ids=[uuid.UUID(ticket_id)],
        detected_at=now,
    )
    [at_risk_ticket] = await open_tickets(replicas, 1, "soon due")
    opened = datetime.fromisoformat((await client.get(f"/v1/tickets/{at_risk_ticket}")).json()["opened_at"])
    async with served(second) as url, stream(url, "/v1/agents/me/events", key) as events:
        await events.event()
        decision = await other_client.post(
            f"/v1/approvals/{pending.json()['approval']['id']}/decision",
            json={"approved": False, "supervisor_id": supervisor["id"]},
        )
        assert decision.status_code == 200, decision.text
        decided = await events.event()
        await first.bus.publish(detected.topic.name, [detected.to_cloudevent()])
        linked = await events.event()
        late = opened + timedelta(minutes=50)  # of 60 for a normal ticket
        warned = await asyncio.gather(push_of(first).at_risk.sweep(late), push_of(second).at_risk.sweep(late))
        warnings = [await events.event() for _ in range(sum(warned))]
    assert (decided.event, decided.json["concern"]) == ("resolution.approval_decided", "requester")
    assert (linked.event, linked.json["data"]["ticket_id"]) == ("ticket.problem_linked", ticket_id)
    async with first.database.session() as session:
        written = (await session.scalars(select(outbox.c.subject).where(outbox.c.event_type == AT_RISK))).all()
    assert at_risk_ticket in written
    assert sorted(written) == sorted(set(written)), "the two replicas' sweeps warn once per ticket between them"
    assert sorted(m.json["subject"] for m in warnings) == sorted(written)
    assert {m.event for m in warnings} == {"ticket.sla_at_risk"}


def _row(envelope: Any) -> dict[str, Any]:
    return {
        "event_id": envelope.id,
        "topic": TicketAssigned.topic.name,
        "event_type": envelope.type,
        "subject": envelope.subject,
        "envelope": envelope.to_json(),
        "created_at": datetime.now(UTC),
        "attempts": 0,
    }
