"""Customers as callers identify them and as agents read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.router.customers.identities import normalise_email, normalise_external_id


class CustomerRef(BaseModel):
    """Whatever the channel knows about the caller; at least one identity is required."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=320, examples=["ada@example.com"])
    phone: str | None = Field(None, max_length=40, description="normalised to E.164", examples=["+44 20 7946 0958"])
    external_id: str | None = Field(
        None,
        max_length=200,
        description="`system:id`, e.g. `helpdesk:4711` or `crm:ACC-1`",
        examples=["helpdesk:4711"],
    )
    name: str | None = Field(None, max_length=200, examples=["Ada Lovelace"])

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else normalise_email(value)

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: str | None) -> str | None:
        return None if value is None else normalise_external_id(value)

    @model_validator(mode="after")
    def _needs_an_identity(self) -> Self:
        if not (self.email or self.phone or self.external_id):
            raise ValueError("give at least one of email, phone or external_id")
        return self


class IdentityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="for DELETE /v1/customers/{id}/identities/{identity_id}")
    kind: Literal["email", "phone", "external_id"]
    value: str
    created_at: datetime


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    display_name: str | None
    owner_agent_id: uuid.UUID | None
    merged_into_id: uuid.UUID | None
    created_at: datetime
    identities: list[IdentityRead]

    @field_validator("identities")
    @classmethod
    def _in_a_stable_order(cls, identities: list[IdentityRead]) -> list[IdentityRead]:
        """Strongest kind first, as recognition weighs them; the same order in every answer (its ETag)."""
        strength = {"external_id": 0, "email": 1, "phone": 2}
        return sorted(identities, key=lambda identity: (strength[identity.kind], identity.value))


class CustomerMerge(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "merge_customer_id": "9b2f6a0e-4c1d-4e8a-9a52-0d8f3b8f2a11",
                    "reason": "same person, confirmed on call",
                }
            ]
        },
    )

    merge_customer_id: uuid.UUID = Field(description="the duplicate profile, folded into this one")
    reason: str = Field(min_length=1, max_length=500, examples=["same person: email and phone confirmed on call"])


class OwnerChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"agent_id": "1c3e5a7b-2d4f-4a6b-8c0d-e2f4a6b8c0d1"}]}
    )

    agent_id: uuid.UUID | None = Field(description="the new account owner, or null for none")


class ActivityRead(BaseModel):
    """One entry of a customer's history, whatever its kind."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str = Field(examples=["ticket.opened", "order.recorded", "ledger.credit", "note", "transfer"])
    ref_id: uuid.UUID
    ticket_id: uuid.UUID | None
    summary: str
    occurred_at: datetime


class HistoryPage(BaseModel):
    items: list[ActivityRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class IdentityCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "phone", "value": "+44 20 7946 0958", "reason": "customer confirmed on the call"}]
        },
    )

    kind: Literal["email", "phone", "external_id"]
    value: str = Field(
        min_length=1,
        max_length=320,
        description="normalised as on tickets: email lower-cased, phone to E.164, external id `system:id`",
    )
    reason: str | None = Field(None, max_length=500, description="why, for the customer's history")


class CustomerUnmerge(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "merged_customer_id": "9b2f6a0e-4c1d-4e8a-9a52-0d8f3b8f2a11",
                    "reason": "two people sharing a phone, merged by mistake",
                }
            ]
        },
    )

    merged_customer_id: uuid.UUID = Field(description="the profile that was merged into this one")
    reason: str = Field(min_length=1, max_length=500)


class UnmergeRead(BaseModel):
    survivor: CustomerRead = Field(description="the profile the merge went into, without what it had received")
    restored: CustomerRead = Field(description="the merged profile, live again with what was its own")
    merge_id: uuid.UUID
    moved_back: dict[str, int] = Field(
        description="rows given back per table: the merge's own, and ledger entries, approvals and history "
        "written since about the restored profile's tickets"
    )


class CustomerCreate(CustomerRef):
    """A profile created directly, before any ticket: at least one identity nobody else has."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "phone": "+44 20 7946 0958", "name": "Ada Lovelace"}]
        },
    )
