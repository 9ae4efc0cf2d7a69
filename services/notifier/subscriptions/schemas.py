"""Subscriptions as ops and systems create and read them (the secret is write-only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, UrlConstraints
from pydantic.config import JsonDict

# What a subscription can ask for: the notifier's events, and messages for customers (the contact center).
# A Literal, so the OpenAPI document lists them and an unknown one is a 422 naming its position.
SubscribableType = Literal[
    "problem.detected",
    "problem.updated",
    "problem.escalated",
    "problem.resolved",
    "notification.customer_notified",
    "customer.message",
    "feedback.decided",
    "feedback.escalated",
]
SUBSCRIBABLE_TYPES: dict[SubscribableType, str] = {
    "problem.detected": "Many customers report the same problem.",
    "problem.updated": "A problem grew or changed (report joined, merged, split).",
    "problem.escalated": "A problem became major (on-call subscriptions get it whatever they chose).",
    "problem.resolved": "A problem was resolved.",
    "notification.customer_notified": "A customer was told about a problem.",
    "customer.message": "A message for a customer without email, for the contact-center software to relay.",
    "feedback.decided": "A feedback cluster's owner decided (accepted, already done, declined).",
    "feedback.escalated": "Feedback waited past its time for a decision: for the owner's lead.",
}


_SUBSCRIPTION_EXAMPLE: JsonDict = {
    "id": "4e1c8bf9-9503-4dd6-a90a-7764955b9661",
    "url": "https://ops.example.com/hooks/firstcall",
    "event_types": ["problem.detected", "problem.escalated"],
    "description": "Payments on-call rota",
    "team": "payments",
    "on_call": True,
    "products": ["debit-card"],
    "active": True,
    "created_at": "2026-11-20T10:00:00Z",
}


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://ops.example.com/hooks/firstcall",
                    "event_types": ["problem.detected", "problem.escalated"],
                    "secret": "a-long-random-shared-secret",
                    "team": "payments",
                    "on_call": True,
                    "products": ["debit-card"],
                }
            ]
        },
    )

    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2083)] = Field(
        description="where deliveries are POSTed (https outside development)"
    )
    event_types: list[SubscribableType] = Field(
        min_length=1,
        max_length=20,
        description="; ".join(f"`{name}`: {meaning}" for name, meaning in SUBSCRIBABLE_TYPES.items()),
    )
    secret: str = Field(min_length=16, max_length=256, description="shared secret for the HMAC-SHA256 signature")
    description: str | None = Field(None, max_length=500)
    team: str | None = Field(None, max_length=100)
    on_call: bool = Field(False, description="receives every escalation of a problem of its products")
    products: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default_factory=list, max_length=50, description="only problems of these products"
    )


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_SUBSCRIPTION_EXAMPLE]})

    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    team: str | None
    on_call: bool
    products: list[str]
    active: bool
    created_at: datetime


class SubscriptionList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SUBSCRIPTION_EXAMPLE]}]})

    items: list[SubscriptionRead]
