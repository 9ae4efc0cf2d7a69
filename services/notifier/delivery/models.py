"""Deliveries waiting, sent or dead, every attempt at them, and the circuit of each endpoint.

A delivery row is written in the transaction that decides to tell someone; a worker sends it later,
outside any transaction. Its dedupe key makes "tell this customer about this problem" exist once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime

DeliveryStatus = Literal["pending", "sending", "sent", "dead", "suppressed", "cancelled"]
DeliveryChannel = Literal["webhook", "email"]


class Delivery(Base):
    __tablename__ = "deliveries"
    # The worker's question: what is due now (or whose lease ran out)?
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    endpoint: Mapped[str] = mapped_column(Text, comment="webhook URL or email address")
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[bytes] = mapped_column(LargeBinary, comment="webhook body, or the email as JSON")
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    problem_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    ticket_id: Mapped[uuid.UUID | None]
    notification_kind: Mapped[str | None] = mapped_column(String(20), comment="acknowledgement or resolution")
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # W3C trace context of the work that decided the delivery (null when not traced): the worker's send,
    # seconds or hours later, continues that trace instead of starting one of its own.
    traceparent: Mapped[str | None] = mapped_column(String(55))
    tracestate: Mapped[str | None] = mapped_column(String(512))


class DeliveryAttempt(Base):
    """One try at a delivery: the delivery log."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    duration_ms: Mapped[float]
    outcome: Mapped[str] = mapped_column(String(20), comment="delivered, failed, rejected, circuit_open, deferred")
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class EndpointCircuit(Base):
    """A receiver's health, shared by every replica: after repeated failures it gets a pause."""

    __tablename__ = "endpoint_circuits"

    endpoint: Mapped[str] = mapped_column(String(500), primary_key=True, comment="scheme://host:port")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    opened_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    open_seconds: Mapped[float] = mapped_column(default=0.0, comment="length of the last pause")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
