"""API key events: the router issues keys; every service keeps a copy so one key works everywhere."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from shared.events import topics
from shared.events.base import Event, register


class ApiKeyEvent(Event):
    topic = topics.ACCESS
    producer = "router"

    key_id: str

    @property
    def aggregate_id(self) -> str:
        return self.key_id


@register
class ApiKeyIssued(ApiKeyEvent):
    """A key was issued; carries only its keyed hash (HMAC with the shared secret), never the key."""

    name = "access.api_key_issued"
    summary = "An API key was issued."

    key_hash: str = Field(min_length=64, max_length=64)
    label: str = Field(description="who or what the key is for")
    scopes: list[str]
    agent_id: UUID | None = None
    rate_limit_per_minute: int = Field(gt=0)
    issued_at: datetime


@register
class ApiKeyRevoked(ApiKeyEvent):
    """A key stops working everywhere."""

    name = "access.api_key_revoked"
    summary = "An API key was revoked."

    revoked_at: datetime
