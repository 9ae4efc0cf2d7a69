"""Ticket events, published by the router on `firstcall.tickets`, keyed by ticket id."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from shared.events import topics
from shared.events.base import Event, register

Channel = Literal["phone", "email", "chat", "web", "social", "other"]
Priority = Literal["low", "normal", "high", "urgent"]
ResolutionType = Literal["return", "refund", "credit", "replacement", "answer"]
TransferReason = Literal["missing_skill", "missing_authority", "wrong_intent", "customer_request", "other"]


class TicketEvent(Event):
    topic = topics.TICKETS
    producer = "router"

    ticket_id: UUID

    @property
    def aggregate_id(self) -> str:
        return str(self.ticket_id)


@register
class TicketOpened(TicketEvent):
    """A customer's report became a ticket. Knowledge suggests answers; the notifier looks for duplicates."""

    name = "ticket.opened"
    summary = "A ticket was opened for a customer on some channel."

    customer_id: UUID
    channel: Channel
    subject: str = Field(max_length=300)
    description: str = Field(max_length=20_000)
    priority: Priority
    opened_at: datetime
    customer_name: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, description="product, order, language...")
    intent: str | None = Field(None, description="classified intent, or None when unknown")
    intent_confidence: float | None = Field(None, ge=0, le=1)


@register
class TicketUpdated(TicketEvent):
    """A ticket's text, intent or priority changed: knowledge recomputes its suggestions."""

    name = "ticket.updated"
    summary = "A ticket's text, intent or priority changed."

    customer_id: UUID
    subject: str = Field(max_length=300)
    description: str = Field(max_length=20_000)
    priority: Priority
    intent: str | None = None
    intent_confidence: float | None = Field(None, ge=0, le=1)
    changed: list[str] = Field(description="names of the fields that changed")
    updated_at: datetime


@register
class TicketAssigned(TicketEvent):
    """A ticket was given to the agent most likely to resolve it at first contact, and why."""

    name = "ticket.assigned"
    summary = "A ticket was assigned to an agent."

    customer_id: UUID
    agent_id: UUID
    rule: Literal["continuity", "skills", "queue", "escalation", "manual"]
    reason: str
    assigned_at: datetime
    waited_seconds: float = Field(0, ge=0, description="time spent queued before this assignment")


@register
class TicketQueued(TicketEvent):
    """No capable agent was free: the ticket waits in the priority queue."""

    name = "ticket.queued"
    summary = "A ticket is waiting for a capable agent."

    customer_id: UUID
    priority: Priority
    required_skills: list[str]
    queued_at: datetime


@register
class TicketTransferred(TicketEvent):
    """A ticket moved to another agent: a first-contact failure, counted by reason."""

    name = "ticket.transferred"
    summary = "A ticket was transferred away from its agent."

    customer_id: UUID
    from_agent_id: UUID | None
    to_agent_id: UUID | None
    reason: TransferReason
    note: str | None = None
    transferred_at: datetime


@register
class TicketResolved(TicketEvent):
    """A ticket was resolved; names the articles used so knowledge learns, and the note for new articles."""

    name = "ticket.resolved"
    summary = "A ticket was resolved by an agent."

    customer_id: UUID
    agent_id: UUID | None
    resolution_type: ResolutionType
    intent: str | None = None
    article_ids: list[UUID] = Field(default_factory=list, description="articles the agent used")
    resolution_note: str | None = Field(None, max_length=20_000)
    transfers: int = Field(0, ge=0)
    first_contact: bool = Field(description="resolved with no transfer (a reopen later revokes it)")
    resolved_at: datetime


@register
class TicketReopened(TicketEvent):
    """A resolved ticket came back: it no longer counts as resolved at first contact."""

    name = "ticket.reopened"
    summary = "A resolved ticket was reopened."

    customer_id: UUID
    reason: str | None = None
    reopened_at: datetime


@register
class TicketPriorityChanged(TicketEvent):
    """A ticket's priority changed (a major problem, an SLA escalation, an agent's judgement)."""

    name = "ticket.priority_changed"
    summary = "A ticket's priority was raised or lowered."

    customer_id: UUID
    previous: Priority
    priority: Priority
    reason: str
    changed_at: datetime


@register
class SlaBreached(TicketEvent):
    """A ticket had no first response by its due time; the router escalated it."""

    name = "ticket.sla_breached"
    summary = "A ticket missed its first-response due time."

    customer_id: UUID
    priority: Priority
    due_at: datetime
    breached_at: datetime
    agent_id: UUID | None = Field(description="who has the ticket after the escalation (None: still queued)")
    action: Literal["reassigned", "team_lead_notified", "none"]
    # Added without a new version (optional, None when absent): events published before it read as before.
    previous_agent_id: UUID | None = Field(
        None, description="who had the ticket when it breached, when the escalation took it from them"
    )


TicketStatus = Literal["open", "pending_customer", "on_hold", "pending_approval", "resolved", "closed", "cancelled"]
StatusTrigger = Literal[
    "status-change",
    "resolution",
    "approval-requested",
    "approval-approved",
    "approval-denied",
    "approval-withdrawn",
    "reopen",
    "quiet-period",
]


@register
class TicketStatusChanged(TicketEvent):
    """A ticket moved in its life (docs/router.md, the transition table): every transition is one of these,
    beside the event of what caused it (TicketResolved, TicketReopened, ApprovalRequested, ...)."""

    name = "ticket.status_changed"
    summary = "A ticket's status changed: who moved it, why, and its first-response due time now."

    customer_id: UUID
    previous: TicketStatus
    status: TicketStatus
    trigger: StatusTrigger = Field(description="what moved it: an agent's status change, a resolution, ...")
    reason: str | None = Field(None, max_length=2_000)
    cancel_reason: Literal["duplicate", "spam"] | None = Field(None, description="when cancelled")
    duplicate_of: UUID | None = Field(None, description="the ticket a cancelled duplicate repeats")
    approval_id: UUID | None = Field(None, description="the approval an approval-* trigger is about")
    agent_id: UUID | None = Field(description="the ticket's agent after the change")
    first_response_due_at: datetime | None = Field(
        description="the first-response due time after the change (a pause for the customer moves it)"
    )
    changed_at: datetime
