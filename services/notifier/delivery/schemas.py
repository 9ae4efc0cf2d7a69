"""The delivery log as ops read it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, Field

from services.notifier.delivery.models import Delivery, DeliveryAttempt


class AttemptRead(BaseModel):
    attempt: int
    started_at: datetime
    duration_ms: float
    outcome: str
    status_code: int | None
    error: str | None


class NotificationRead(BaseModel):
    id: uuid.UUID
    status: str
    channel: str
    endpoint: str
    event_type: str
    notification_kind: str | None
    subscription_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    problem_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    payload: Any
    log: list[AttemptRead]


class NotificationList(BaseModel):
    items: list[NotificationRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page (also in `Link`); null at the end")
    limit: int
    offset: int = Field(description="deprecated with the `offset` parameter: the rows skipped")


def present(delivery: Delivery, attempts: list[DeliveryAttempt]) -> NotificationRead:
    """A delivery with its log; the next attempt is shown only while one is due."""
    return NotificationRead(
        id=delivery.id,
        status=delivery.status,
        channel=delivery.channel,
        endpoint=delivery.endpoint,
        event_type=delivery.event_type,
        notification_kind=delivery.notification_kind,
        subscription_id=delivery.subscription_id,
        customer_id=delivery.customer_id,
        problem_id=delivery.problem_id,
        ticket_id=delivery.ticket_id,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        sent_at=delivery.sent_at,
        payload=orjson.loads(delivery.payload),
        log=[
            AttemptRead(
                attempt=a.attempt,
                started_at=a.started_at,
                duration_ms=a.duration_ms,
                outcome=a.outcome,
                status_code=a.status_code,
                error=a.error,
            )
            for a in attempts
        ],
    )
