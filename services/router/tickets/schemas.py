"""The ticket as contact-center software sends it and reads it back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.router.customers.schemas import CustomerRef
from shared.events.catalogue import Channel, Priority

TicketStatus = Literal["open", "resolved", "closed"]


class TicketCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
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
    attributes: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        max_length=50,
        description="free facts from the channel: product, order, language",
    )

    @field_validator("subject")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


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
    opened_at: datetime
    updated_at: datetime
