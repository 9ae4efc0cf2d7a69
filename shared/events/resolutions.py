"""Resolution events: money and goods the first agent gave within policy, or asked a supervisor for.

Published by the router on `firstcall.resolutions`, keyed by ticket id. Amounts are exact decimals
(strings in JSON) with an ISO 4217 currency.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import Field

from shared.events import topics
from shared.events.base import Event, register
from shared.events.tickets import ResolutionType


class ResolutionEvent(Event):
    topic = topics.RESOLUTIONS
    producer = "router"

    ticket_id: UUID
    customer_id: UUID

    @property
    def aggregate_id(self) -> str:
        return str(self.ticket_id)


class LedgerEvent(ResolutionEvent):
    ledger_entry_id: UUID
    order_id: UUID | None
    amount: Decimal = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    reason: str
    agent_id: UUID
    approved_by: UUID | None = None
    occurred_at: datetime


@register
class CreditIssued(LedgerEvent):
    """A goodwill or compensation credit was put on the customer's account."""

    name = "resolution.credit_issued"
    summary = "A credit was issued to a customer."


@register
class RefundIssued(LedgerEvent):
    """Money was refunded against an order."""

    name = "resolution.refund_issued"
    summary = "A refund was issued against an order."


@register
class ReturnAuthorized(LedgerEvent):
    """The customer may send goods back; the refund follows on receipt."""

    name = "resolution.return_authorized"
    summary = "A return was authorized for an order."


@register
class ReplacementAuthorized(LedgerEvent):
    """A replacement is shipped for an order's goods."""

    name = "resolution.replacement_authorized"
    summary = "A replacement was authorized for an order."


@register
class ApprovalRequested(ResolutionEvent):
    """A resolution above the agent's authority waits for a supervisor; the agent keeps the ticket."""

    name = "resolution.approval_requested"
    summary = "A resolution needs a supervisor's approval."

    approval_id: UUID
    agent_id: UUID
    resolution_type: ResolutionType
    order_id: UUID | None
    amount: Decimal = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    rule: str = Field(description="the policy rule the amount exceeded")
    requested_at: datetime


@register
class ApprovalDecided(ResolutionEvent):
    """A supervisor approved (the resolution executes) or denied a requested resolution."""

    name = "resolution.approval_decided"
    summary = "A supervisor approved or denied a resolution."

    approval_id: UUID
    supervisor_id: UUID
    approved: bool
    note: str | None = None
    decided_at: datetime
