"""Ticket events the router publishes so that an agent's desktop hears what concerns the agent.

Both travel on `firstcall.tickets`, keyed by ticket id, like every ticket event; the desktop stream
(docs/desktop-push.md) reads them from the router's outbox, and any other consumer may read them on Kafka.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events.base import register
from shared.events.envelope import CloudEvent
from shared.events.problems import Severity
from shared.events.tickets import Priority, TicketEvent

# Names the one SlaAtRisk event of a ticket, due time and agent (uuid5), so a sweep repeated by another
# replica or after a crash finds the event already written instead of warning the agent twice.
_AT_RISK_NAMESPACE = uuid.UUID("6f0c9c3e-2f55-4a8e-9a57-1d2c0f7b5a10")


@register
class SlaAtRisk(TicketEvent):
    """A ticket's first response is due soon and nobody has answered yet: its agent still has time."""

    name = "ticket.sla_at_risk"
    summary = "A ticket's first response is due soon and has not been given."

    customer_id: UUID
    agent_id: UUID
    priority: Priority
    due_at: datetime
    at_risk_at: datetime
    elapsed_share: float = Field(ge=0, le=1, description="share of the first-response time used when flagged")

    def to_cloudevent(self) -> CloudEvent:
        envelope = super().to_cloudevent()
        return envelope.model_copy(update={"id": at_risk_event_id(self.ticket_id, self.due_at, self.agent_id)})


def at_risk_event_id(ticket_id: UUID, due_at: datetime, agent_id: UUID) -> str:
    """The id of the one at-risk warning for a ticket, its due time and its agent."""
    return str(uuid.uuid5(_AT_RISK_NAMESPACE, f"{ticket_id}/{due_at.timestamp():.6f}/{agent_id}"))


@register
class TicketProblemLinked(TicketEvent):
    """An open ticket turned out to be one of many customers' reports of the same problem."""

    name = "ticket.problem_linked"
    summary = "An open, assigned ticket is part of a problem many customers report."

    customer_id: UUID
    agent_id: UUID = Field(description="the ticket's agent when the router learnt it")
    problem_id: UUID
    change: Literal["detected", "joined", "merged", "escalated"] = Field(
        description="detected: the problem was found with this ticket in it; joined: the ticket joined it later; "
        "merged: its problem was merged into this one; escalated: the problem became major"
    )
    severity: Severity
    problem_summary: str = Field(max_length=1000)
    customer_count: int = Field(ge=0, description="distinct customers reporting the problem")
    linked_at: datetime
