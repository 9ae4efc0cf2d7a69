"""Feedback events: a customer's suggestion, complaint about a procedure or compliment, and what became of it.

The router publishes what it heard on `firstcall.tickets` (keyed by ticket id, in order with the ticket's
other events); the notifier publishes what happens to a feedback cluster on `firstcall.problems` (keyed by
the cluster's id), beside the problems, which are another kind of cluster and never mix with feedback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events import topics
from shared.events.base import Event, register
from shared.events.tickets import Channel, TicketEvent

FeedbackKind = Literal["suggestion", "complaint", "compliment"]
FeedbackDecision = Literal["accepted", "already_done", "declined"]


@register
class TicketMarkedFeedback(TicketEvent):
    """An agent said a ticket is feedback, not a fault to fix: it is acknowledged and resolved at once."""

    name = "ticket.marked_feedback"
    summary = "An agent marked a ticket as feedback (a suggestion, a complaint about a procedure, a compliment)."

    customer_id: UUID
    agent_id: UUID | None = Field(description="the agent the mark is recorded under")
    kind: FeedbackKind
    marked_at: datetime


@register
class FeedbackReceived(TicketEvent):
    """A customer's feedback, in their own words, acknowledged in those words: the notifier clusters it."""

    name = "feedback.received"
    summary = "A customer gave feedback; it was acknowledged quoting them and the conversation resolved."

    customer_id: UUID
    customer_name: str | None = Field(None, max_length=200)
    channel: Channel
    kind: FeedbackKind
    recognised_by: Literal["intent", "agent", "answer"] = Field(
        description="its intent is configured as feedback, an agent marked it, or it is the free text of the "
        "customer's answer to the question after a resolution (the notifier's own)"
    )
    subject: str = Field(max_length=300, description="the customer's own words, as they wrote them")
    description: str = Field(max_length=20_000)
    intent: str | None = Field(None, max_length=100)
    product: str | None = Field(None, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=20, description="the ticket's `tags` attribute")
    acknowledgement: str = Field(max_length=2_000, description="what the customer was told, quoting them")
    received_at: datetime


class FeedbackClusterEvent(Event):
    topic = topics.PROBLEMS
    producer = "notifier"

    cluster_id: UUID

    @property
    def aggregate_id(self) -> str:
        return str(self.cluster_id)


@register
class FeedbackDecided(FeedbackClusterEvent):
    """The owner of a piece of feedback decided; every customer who gave it will be told, once."""

    name = "feedback.decided"
    summary = "A feedback cluster's owner accepted it (what changes, when), found it already done, or declined it."

    owner: str = Field(max_length=100)
    decision: FeedbackDecision
    change: str | None = Field(None, max_length=2_000, description="what changes (accepted)")
    change_due: str | None = Field(None, max_length=100, description="when it changes (accepted)")
    reason: str = Field(max_length=2_000, description="why, in the words the customers will read")
    decided_by: str = Field(max_length=100)
    voices: int = Field(ge=1, description="distinct customers who gave this feedback")
    decided_at: datetime


@register
class FeedbackEscalated(FeedbackClusterEvent):
    """Feedback waited too long for its owner's decision: the owner's lead is asked to see to it."""

    name = "feedback.escalated"
    summary = "A feedback cluster was left undecided past its time; it went to the owner's lead."

    owner: str = Field(max_length=100)
    lead: str = Field(max_length=100)
    unowned: bool = Field(description="no mapping named an owner: it went to the default owner")
    summary_text: str = Field(
        max_length=2_000,
        description="the first voice's words; while the router seals, sealed with that customer's key "
        "(`fcs2:<customer id>:<base64>`, decision 0031), read as `[erased]` once erased",
    )
    voices: int = Field(ge=1)
    waiting_since: datetime
    escalated_at: datetime
