"""Feedback on a ticket, as the API takes and shows it."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue import FeedbackKind


class FeedbackMark(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"kind": "suggestion"}, {"kind": "complaint"}]}
    )

    kind: FeedbackKind = Field(description="a suggestion, a complaint about how things are done, or a compliment")
    agent_id: uuid.UUID | None = Field(None, description="the acting agent, when the key is not an agent's own")


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    kind: FeedbackKind
    recognised_by: str = Field(description="`intent` (configured as feedback) or `agent` (marked)", examples=["intent"])
    intent: str | None
    agent_id: uuid.UUID | None
    acknowledgement: str = Field(description="what the customer was told, quoting their own words")
    received_at: datetime


class FeedbackOutcome(BaseModel):
    feedback: FeedbackRead
    ticket_status: str = Field(examples=["resolved"])
