"""The agent's context: everything needed to resolve the ticket at first contact, in one answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from services.router.customers.schemas import ActivityRead, CustomerRead
from services.router.ledger.schemas import ApprovalRead, LedgerEntryRead
from services.router.money import written
from services.router.orders.schemas import OrderRead
from services.router.tickets.schemas import TicketRead


class OwnerRead(BaseModel):
    agent_id: uuid.UUID
    name: str


class CustomerContext(BaseModel):
    profile: CustomerRead
    owner: OwnerRead | None
    tenure_days: int
    open_tickets: list[TicketRead] = Field(description="the customer's other open tickets")
    recent_history: list[ActivityRead]


class OrderContext(BaseModel):
    order: OrderRead
    refundable: Decimal = Field(description="still refundable after earlier refunds, returns and credits")
    returnable_until: datetime
    returnable: bool

    @model_validator(mode="after")
    def _in_minor_units(self) -> Self:
        self.refundable = written(self.refundable, self.order.currency)
        return self


class KnowledgeContext(BaseModel):
    source: Literal["events", "http", "pending"] = Field(
        description="from knowledge's events, from a fallback call, or not available yet"
    )
    articles: list[dict[str, object]]
    known_issue: dict[str, object] | None


class ProblemContext(BaseModel):
    problem_id: uuid.UUID
    summary: str
    status: str
    severity: str
    customer_count: int
    other_customers: int = Field(description="how many other customers report the same problem")
    report_count: int
    resolution: str | None
    last_seen: datetime


class OfferedResolutionRead(BaseModel):
    """A resolved problem's fix offered to this ticket: the agent confirms it in one call."""

    model_config = ConfigDict(from_attributes=True)

    ticket_id: uuid.UUID
    problem_id: uuid.UUID
    answer: str = Field(description="the fix, in words customers read; the ticket's answer if accepted")
    fix_version: str | None
    article_id: uuid.UUID | None
    status: Literal["offered", "accepted", "auto_resolved"]
    offered_at: datetime
    decided_at: datetime | None
    decided_by: str | None = Field(description="the API key that accepted it, or router:problem-fix")

    @computed_field(description="POST here to resolve the ticket with this answer, while it is `offered`")  # type: ignore[prop-decorator]
    @property
    def accept(self) -> str:
        return f"/v1/tickets/{self.ticket_id}/offered-resolution/accept"


class OfferAcceptance(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "told the customer the app works again after the update"}, {}]},
    )

    note: str | None = Field(None, max_length=5_000, description="added below the fix in the resolution note")
    agent_id: uuid.UUID | None = Field(None, description="the acting agent, when the key is not an agent's own")


class OfferOutcome(BaseModel):
    offer: OfferedResolutionRead
    ticket_status: str = Field(examples=["resolved"])


class AllowedAction(BaseModel):
    type: str = Field(examples=["credit"])
    currency: str | None
    max_without_approval: Decimal | None = Field(description="null for an answer (no money)")
    order_id: uuid.UUID | None = None
    summary: str = Field(examples=["credit up to 50.00 EUR without approval"])

    @model_validator(mode="after")
    def _in_minor_units(self) -> Self:
        if self.max_without_approval is not None:
            self.max_without_approval = written(self.max_without_approval, self.currency)
        return self


class TicketContext(BaseModel):
    ticket: TicketRead
    customer: CustomerContext
    orders: list[OrderContext]
    ledger: list[LedgerEntryRead] = Field(description="earlier credits, refunds, returns, replacements")
    pending_approvals: list[ApprovalRead]
    knowledge: KnowledgeContext
    problem: ProblemContext | None
    offered_resolution: OfferedResolutionRead | None = Field(
        None, description="the fix of the ticket's resolved problem, offered as its answer (status `offered`)"
    )
    acting_agent_id: uuid.UUID | None
    allowed_actions: list[AllowedAction]
    generated_at: datetime
