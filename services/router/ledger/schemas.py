"""Resolutions as agents request them, and the policy's answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from services.router.money import Amount, Currency, exact, written
from shared.events.catalogue import ResolutionType


class ResolutionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "credit",
                    "order_id": "6f1c2b7e-9a43-4c1d-8a52-0d8f3b8f2a11",
                    "amount": "25.00",
                    "currency": "EUR",
                    "reason": "delivery two days late",
                    "note": "apologised and credited the delivery fee",
                    "article_ids": [],
                }
            ]
        },
    )

    type: ResolutionType
    order_id: uuid.UUID | None = None
    # Before the amount, which is checked against its minor units.
    currency: Currency | None = Field(None, description="required with an amount (or taken from the order)")
    amount: Amount = Decimal("0")
    reason: str = Field(min_length=1, max_length=2_000)
    note: str | None = Field(None, max_length=20_000, description="the resolution note (may become an article)")
    article_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20, description="articles used")
    agent_id: uuid.UUID | None = Field(None, description="the acting agent, when the key is not an agent's own")

    @field_validator("amount")
    @classmethod
    def _in_minor_units(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")
        return amount if currency is None else exact(amount, currency)


class LedgerEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ticket_id: uuid.UUID
    order_id: uuid.UUID | None
    type: str
    amount: Decimal
    currency: str
    reason: str
    agent_id: uuid.UUID
    approved_by: uuid.UUID | None
    created_at: datetime

    @model_validator(mode="after")
    def _in_minor_units(self) -> Self:
        self.amount = written(self.amount, self.currency)
        return self


class ApprovalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    agent_id: uuid.UUID
    type: str
    order_id: uuid.UUID | None
    amount: Decimal
    currency: str
    reason: str
    rule: str
    explanation: str
    status: Literal["pending", "approved", "denied", "withdrawn", "refused"]
    supervisor_id: uuid.UUID | None
    decision_note: str | None
    requested_at: datetime
    decided_at: datetime | None

    @model_validator(mode="after")
    def _in_minor_units(self) -> Self:
        self.amount = written(self.amount, self.currency)
        return self


class ResolutionOutcome(BaseModel):
    """What happened and why: executed at once, sent to a supervisor, or refused by a named rule; for an
    approval, what its decision (or its withdrawal by the agent who asked) did."""

    outcome: Literal["executed", "approval_requested", "denied", "withdrawn", "refused"]
    rule: str = Field(examples=["within-authority", "agent-authority", "over-refund"])
    explanation: str
    ticket_status: str
    ledger_entry: LedgerEntryRead | None = None
    approval: ApprovalRead | None = None


class ApprovalWithdrawal(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "the customer accepted a replacement instead"}]}
    )

    reason: str | None = Field(None, max_length=2_000)
    agent_id: uuid.UUID | None = Field(None, description="the agent who asked, when the key is not theirs")


class ApprovalDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"approved": True, "note": "loyal"}]})

    approved: bool
    note: str | None = Field(None, max_length=2_000)
    supervisor_id: uuid.UUID | None = Field(None, description="the deciding supervisor, if the key is not theirs")
