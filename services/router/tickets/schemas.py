"""Tickets as contact-center software opens them and agents work on them."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import MISSING, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, field_validator

from services.router.customers.schemas import CustomerRef
from services.router.tickets.life import CancelReason
from shared.events.catalogue import Channel, Priority, ResolutionType, TicketStatus, TransferReason

MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY = 100
MAX_ATTRIBUTE_TEXT = 2_000
# Integers every JSON reader holds exactly (I-JSON, RFC 7493): a larger one would be rounded downstream.
MAX_SAFE_INTEGER = 2**53 - 1


def _attribute(value: Any) -> str | int | float | bool | None:
    """One flat fact: a bounded string, an exactly representable number, a boolean or null."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"integers are limited to +/-{MAX_SAFE_INTEGER} (2^53 - 1); send larger ones as text")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return value
    if isinstance(value, str):
        if len(value) > MAX_ATTRIBUTE_TEXT:
            raise ValueError(f"at most {MAX_ATTRIBUTE_TEXT} characters")
        return value
    raise ValueError("a string, number, boolean or null (no objects or lists)")


Attribute = Annotated[
    str | int | float | bool | None,
    PlainValidator(_attribute),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_ATTRIBUTE_TEXT},
                {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]
AttributeKey = Annotated[str, Field(min_length=1, max_length=MAX_ATTRIBUTE_KEY)]


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
    attributes: dict[AttributeKey, Attribute] = Field(
        default_factory=dict,
        max_length=MAX_ATTRIBUTES,
        description="free facts from the channel (product, order, language): flat values, at most "
        f"{MAX_ATTRIBUTES} keys of {MAX_ATTRIBUTE_KEY} characters, texts of {MAX_ATTRIBUTE_TEXT}, "
        "integers within +/-(2^53 - 1)",
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
    status: TicketStatus = Field(description="docs/router.md#a-tickets-life: the statuses and their transitions")
    status_changed_at: datetime | None
    attributes: dict[str, Any]
    intent: str | None = Field(description="null when the classifier is not confident: unknown")
    intent_confidence: float | None
    agent_id: uuid.UUID | None
    assigned_at: datetime | None
    queued_at: datetime | None
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    sla_breached_at: datetime | None
    sla_paused_at: datetime | None = Field(description="set while pending_customer pauses the first-response clock")
    sla_paused_seconds: int = Field(description="how long the clock was paused in all (the due time moved by it)")
    transfers: int
    resolution_type: ResolutionType | None
    resolved_at: datetime | None
    cancel_reason: CancelReason | None
    duplicate_of_id: uuid.UUID | None = Field(description="the ticket a cancelled duplicate repeats")
    problem_id: uuid.UUID | None
    opened_at: datetime
    updated_at: datetime


class TicketPage(BaseModel):
    items: list[TicketRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page (also in `Link`); null at the end")


class StatusChange(BaseModel):
    """An agent moves a ticket in its life (docs/router.md#a-tickets-life); resolving has its own operation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "pending_customer", "reason": "asked the customer for the receipt"},
                {"status": "cancelled", "cancel_reason": "spam", "reason": "advertising"},
            ]
        },
    )

    status: TicketStatus
    reason: str | None = Field(None, max_length=2_000, description="why: kept in the audit and the event")
    cancel_reason: CancelReason | None = Field(None, description="required to cancel: a duplicate or spam")
    duplicate_of: uuid.UUID | None = Field(None, description="for a duplicate: the ticket it repeats")
    agent_id: uuid.UUID | None = Field(None, description="the acting agent, when the key is not an agent's own")


class StatusChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: TicketStatus
    to_status: TicketStatus
    trigger: str = Field(examples=["status-change", "resolution", "reopen", "quiet-period"])
    reason: str | None
    agent_id: uuid.UUID | None
    actor: str = Field(description="the API key that made the change, or router:<task> for the router's own")
    changed_at: datetime


class OpenedTicket(TicketRead):
    """The answer to POST /v1/tickets: the ticket, who has it (or its place in the queue), and the customer."""

    assignment: Assignment | None
    queue_position: int | None = Field(description="1 = served next on this channel; null when assigned")
    customer_created: bool
    possible_duplicate_customers: list[uuid.UUID] = Field(
        default_factory=list, description="other profiles the given identities belong to (merge candidates)"
    )


class TicketUpdate(BaseModel):
    """Corrections by an agent: a better subject, the real intent, another priority. Only the fields sent
    change; each has a value when sent (null is a 422 naming it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"intent": "card_payment_declined"}]})

    subject: str | MISSING = Field(MISSING, min_length=1, max_length=300)
    description: str | MISSING = Field(MISSING, max_length=20_000)
    priority: Priority | MISSING = MISSING
    intent: str | MISSING = Field(MISSING, min_length=1, max_length=100)
    agent_id: uuid.UUID | MISSING = Field(
        MISSING, description="the correcting agent, when the key is not an agent's own"
    )


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


class NotePage(BaseModel):
    items: list[NoteRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page (also in `Link`); null at the end")


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
