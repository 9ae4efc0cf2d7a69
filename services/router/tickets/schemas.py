"""Tickets as contact-center software opens them and agents work on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.router.customers.schemas import CustomerRef
from shared.events.catalogue import Channel, Priority, ResolutionType, TransferReason

TicketStatus = Literal["open", "pending_approval", "resolved", "closed"]
Attribute = str | int | float | bool | None


class TicketCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer": {"email": "ada@example.com", "phone": "+44 20 7946 0958", "name": "Ada Lovelace"},
                    "channel": "phone",
                    "subject": "Card payment declined",
                    "description": "My card was declined at the checkout although I have funds.",
                    "priority": "normal",
                    "attributes": {"product": "debit-card", "language": "en"},
                }
            ]
        },
    )

    customer: CustomerRef
    channel: Channel
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    priority: Priority = "normal"
    attributes: dict[str, Attribute] = Field(
        default_factory=dict, max_length=50, description="free facts from the channel: product, order, language"
    )

    @field_validator("subject")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class Assignment(BaseModel):
    agent_id: uuid.UUID
    rule: str = Field(examples=["continuity", "skills", "queue"])
    reason: str
    assigned_at: datetime


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    channel: Channel
    subject: str
    description: str
    priority: Priority
    status: TicketStatus
    attributes: dict[str, Any]
    intent: str | None = Field(description="null when the classifier is not confident: unknown")
    intent_confidence: float | None
    agent_id: uuid.UUID | None
    assigned_at: datetime | None
    queued_at: datetime | None
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    transfers: int
    resolution_type: ResolutionType | None
    resolved_at: datetime | None
    problem_id: uuid.UUID | None
    opened_at: datetime
    updated_at: datetime


class OpenedTicket(TicketRead):
    """The answer to POST /v1/tickets: the ticket, who has it (or its place in the queue), and the customer."""

    assignment: Assignment | None
    queue_position: int | None = Field(description="1 = served next on this channel; null when assigned")
    customer_created: bool
    possible_duplicate_customers: list[uuid.UUID] = Field(
        default_factory=list, description="other profiles the given identities belong to (merge candidates)"
    )


class TicketUpdate(BaseModel):
    """Corrections by an agent: a better subject, the real intent, another priority."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"intent": "card_payment_declined"}]})

    subject: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=20_000)
    priority: Priority | None = None
    intent: str | None = Field(None, min_length=1, max_length=100)
    agent_id: uuid.UUID | None = Field(None, description="the correcting agent, when the key is not an agent's own")


class NoteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"body": "Called the customer back; card unblocked.", "public": True}]},
    )

    body: str = Field(min_length=1, max_length=20_000)
    public: bool = Field(True, description="a public note is a response to the customer (first response counts)")
    agent_id: uuid.UUID | None = Field(None, description="the writing agent, when the key is not an agent's own")


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ticket_id: uuid.UUID
    agent_id: uuid.UUID | None
    body: str
    public: bool
    created_at: datetime


class TransferCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "wrong_intent", "corrected_intent": "card_arrival", "note": "asked about delivery"}]
        },
    )

    reason: TransferReason
    note: str | None = Field(None, max_length=5_000)
    to_agent_id: uuid.UUID | None = Field(None, description="a specific agent; otherwise the ticket is routed again")
    corrected_intent: str | None = Field(
        None, min_length=1, max_length=100, description="for wrong_intent: the real intent (a training example)"
    )
    agent_id: uuid.UUID | None = Field(None, description="the transferring agent, when the key is not an agent's own")


class TransferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ticket_id: uuid.UUID
    from_agent_id: uuid.UUID | None
    to_agent_id: uuid.UUID | None
    reason: TransferReason
    note: str | None
    corrected_intent: str | None
    created_at: datetime


class ReopenRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "the card is declined again"}]}
    )

    reason: str | None = Field(None, max_length=2_000)
    agent_id: uuid.UUID | None = Field(
        None, description="the reopening agent, when the key is neither an agent's own nor a contact center's"
    )


class RoutingCandidate(BaseModel):
    agent_id: uuid.UUID
    name: str
    eligible: bool
    reasons: list[str] = Field(description="why not (empty for eligible candidates)")
    spare: int = Field(description="free capacity on the ticket's channel")


class RoutingDecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rule: str
    agent_id: uuid.UUID | None
    explanation: str
    candidates: list[RoutingCandidate]
    decided_at: datetime


class RoutingExplanation(BaseModel):
    ticket_id: uuid.UUID
    intent: str | None
    required_skills: dict[str, int]
    likely_resolution: str | None
    decisions: list[RoutingDecisionRead]
