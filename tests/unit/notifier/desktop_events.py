"""Builders for the desktop webhooks' tests: the router's events an agent's desktop hears of, and agents' keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events.access import ApiKeyIssued
from shared.events.catalogue import (
    AccountOwnerChanged,
    AgentRegistered,
    ApprovalDecided,
    ApprovalRequested,
    SlaBreached,
    TicketAssigned,
    TicketTransferred,
)
from shared.events.desktop import SlaAtRisk, TicketProblemLinked
from shared.web.auth import hash_key, new_key
from tests.unit.notifier.conftest import Notifier


def assigned(agent_id: uuid.UUID, **overrides: Any) -> TicketAssigned:
    fields: dict[str, Any] = {
        "ticket_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "agent_id": agent_id,
        "rule": "skills",
        "reason": "can resolve it and has spare capacity",
        "assigned_at": datetime.now(UTC),
    }
    return TicketAssigned(**{**fields, **overrides})


def transferred(from_agent: uuid.UUID, to_agent: uuid.UUID) -> TicketTransferred:
    return TicketTransferred(
        ticket_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        from_agent_id=from_agent,
        to_agent_id=to_agent,
        reason="missing_authority",
        transferred_at=datetime.now(UTC),
    )


def registered(agent_id: uuid.UUID, team: str | None) -> AgentRegistered:
    return AgentRegistered(
        agent_id=agent_id,
        display_name="Grace",
        team=team,
        skills={"cards": 3},
        status="available",
        registered_at=datetime.now(UTC),
    )


def at_risk(agent_id: uuid.UUID) -> SlaAtRisk:
    now = datetime.now(UTC)
    return SlaAtRisk(
        ticket_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        agent_id=agent_id,
        priority="high",
        due_at=now + timedelta(minutes=5),
        at_risk_at=now,
        elapsed_share=0.8,
    )


def breached(agent_id: uuid.UUID | None, *, taken_from: uuid.UUID | None = None) -> SlaBreached:
    """A breach; `taken_from`: the agent the escalation reassigned the ticket away from."""
    now = datetime.now(UTC)
    return SlaBreached(
        ticket_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        priority="high",
        due_at=now - timedelta(minutes=1),
        breached_at=now,
        agent_id=agent_id,
        action="team_lead_notified" if taken_from is None else "reassigned",
        previous_agent_id=taken_from,
    )


def approval(agent_id: uuid.UUID, *, approved: bool) -> tuple[ApprovalRequested, ApprovalDecided]:
    ticket_id, customer_id, approval_id, now = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    requested = ApprovalRequested(
        ticket_id=ticket_id,
        customer_id=customer_id,
        approval_id=approval_id,
        agent_id=agent_id,
        resolution_type="credit",
        order_id=None,
        amount="80.00",
        currency="EUR",
        rule="credit above the agent's authority",
        requested_at=now,
    )
    decided = ApprovalDecided(
        ticket_id=ticket_id,
        customer_id=customer_id,
        approval_id=approval_id,
        supervisor_id=uuid.uuid4(),
        approved=approved,
        decided_at=now,
    )
    return requested, decided


def owner_changed(owner: uuid.UUID, previous: uuid.UUID | None) -> AccountOwnerChanged:
    return AccountOwnerChanged(
        customer_id=uuid.uuid4(),
        previous_owner_id=previous,
        owner_id=owner,
        briefing="Ada, a customer for 3 years: two open returns, one credit last month.",
        changed_at=datetime.now(UTC),
    )


def problem_linked(agent_id: uuid.UUID) -> TicketProblemLinked:
    return TicketProblemLinked(
        ticket_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        agent_id=agent_id,
        problem_id=uuid.uuid4(),
        change="detected",
        severity="minor",
        problem_summary="Checkout fails with payment error",
        customer_count=3,
        linked_at=datetime.now(UTC),
    )


async def agent_key(notifier: Notifier, agent_id: uuid.UUID | None) -> dict[str, str]:
    """Headers with a new agent-scoped key acting as `agent_id`, as the router would issue it."""
    key_id, key = new_key()
    await notifier.publish(
        ApiKeyIssued(
            key_id=key_id,
            key_hash=hash_key(notifier.settings.secret_key.get_secret_value(), key),
            label="agent desktop",
            scopes=["agent"],
            agent_id=agent_id,
            rate_limit_per_minute=10_000,
            issued_at=datetime.now(UTC),
        )
    )
    return {"Authorization": f"Bearer {key}"}
