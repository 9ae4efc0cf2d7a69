"""Feedback clusters as the API takes and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict


class DecisionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decision": "accepted",
                    "change": "The email now says to use the website, with the link",
                    "change_due": "from the next mailing, 2026-12-14",
                    "reason": "calling cannot change the setting; the email was wrong",
                    "decided_by": "Billing communications",
                },
                {"decision": "declined", "reason": "the form needs a signature we can only take in the branch"},
            ]
        },
    )

    decision: Literal["accepted", "already_done", "declined"]
    change: str | None = Field(None, min_length=1, max_length=2_000, description="what changes (required to accept)")
    change_due: str | None = Field(None, min_length=1, max_length=100, description="when it changes, in words")
    reason: str = Field(
        min_length=1, max_length=2_000, description="why, as every customer who gave the feedback will read it"
    )
    decided_by: str | None = Field(None, min_length=1, max_length=100, description="who decided (default: the key)")


_VOICE: JsonDict = {
    "ticket_id": "5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10",
    "customer_id": "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c50",
    "customer_name": "Ada Lovelace",
    "channel": "email",
    "kind": "suggestion",
    "text": "Your email gives wrong instructions\nIt says to call you, but only the website can fix this.",
    "intent": "procedure_feedback",
    "product": "billing",
    "tags": ["email"],
    "received_at": "2026-12-07T09:12:00Z",
}
# Every field filled: FastAPI drops nulls from the document's examples, and an example must validate.
_CLUSTER: JsonDict = {
    "id": "7d2c9a41-0b3e-4f6a-9c1d-2e4f6a8b0c12",
    "status": "decided",
    "summary_text": "Your email gives wrong instructions It says to call you, but only the website can fix this.",
    "owner": "billing-communications",
    "unowned": False,
    "owned_by": "intent:procedure_feedback",
    "voice_count": 5,
    "customer_count": 5,
    "kinds": ["suggestion", "complaint"],
    "intents": ["procedure_feedback"],
    "products": ["billing"],
    "created_at": "2026-12-07T09:12:00Z",
    "last_voice_at": "2026-12-07T15:40:00Z",
    "decision_due_at": "2026-12-10T09:12:00Z",
    "escalated_at": "2026-12-10T09:15:00Z",
    "escalated_to": "head-of-billing",
    "decision": "accepted",
    "change": "the email now says to use the website, with the link",
    "change_due": "from the next mailing",
    "reason": "calling cannot change this setting; the email was wrong",
    "decided_by": "Billing communications",
    "decided_at": "2026-12-10T11:00:00Z",
}


class VoiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_VOICE]})

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    customer_name: str | None
    channel: str
    kind: str
    text: str = Field(description="the customer's own words")
    intent: str | None
    product: str | None
    tags: list[str]
    received_at: datetime


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_CLUSTER]})

    id: uuid.UUID
    status: str = Field(description="`open` (waiting for its owner) or `decided`", examples=["open"])
    summary_text: str
    owner: str
    unowned: bool = Field(description="no mapping named an owner: the default owner has it")
    owned_by: str | None = Field(description="the mapping that named the owner, e.g. `intent:billing_email`")
    voice_count: int
    customer_count: int
    kinds: list[str]
    intents: list[str]
    products: list[str]
    created_at: datetime
    last_voice_at: datetime
    decision_due_at: datetime
    escalated_at: datetime | None
    escalated_to: str | None
    decision: str | None
    change: str | None
    change_due: str | None
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None


class FeedbackDetail(FeedbackRead):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{**_CLUSTER, "voices": [_VOICE]}]})

    voices: list[VoiceRead] = Field(description="the customers' words, oldest first (at most 100)")


class FeedbackList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_CLUSTER], "next_cursor": "eyJ0IjoiMjAyNi0xMi0wN1QwOToxMjowMFoifQ"}]}
    )

    items: list[FeedbackRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class AnswerCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"resolved": False, "text": "I had to call again the next day; the refund never arrived."},
                {"resolved": True},
            ]
        },
    )

    resolved: bool = Field(description="the customer's answer: was the issue resolved on the first contact?")
    text: str | None = Field(None, min_length=1, max_length=2_000, description="anything else, in their words")


class QuestionRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "ticket_id": "5f0c2f1e-3d2a-4f7e-9a59-0a6c1f3b2d10",
                    "customer_id": "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c50",
                    "agent_id": "0e6b7a52-2c1d-4f3e-9a8b-7c6d5e4f3a21",
                    "team": "payments",
                    "intent": "refund_request",
                    "channel": "phone",
                    "counted_first_contact": True,
                    "asked_at": "2026-12-07T10:00:00Z",
                    "answered_at": "2026-12-07T18:30:00Z",
                    "resolved_first_contact": False,
                    "answer_text": "I had to call again the next day; the refund never arrived.",
                    "disputed": True,
                    "followed_up_as": "report",
                }
            ]
        },
    )

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    agent_id: uuid.UUID | None
    team: str | None
    intent: str | None
    channel: str
    counted_first_contact: bool = Field(description="firstcall counted the ticket resolved at first contact")
    asked_at: datetime
    answered_at: datetime | None
    resolved_first_contact: bool | None = Field(description="the customer's own answer (null: not answered)")
    answer_text: str | None
    disputed: bool = Field(description="counted as resolved at first contact, and the customer said no")
    followed_up_as: str | None = Field(description="`report` or `feedback`: where the free text went")


class QuestionList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [], "next_cursor": "eyJ0IjoiMjAyNi0xMi0wNyJ9"}]}
    )

    items: list[QuestionRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at the end")
