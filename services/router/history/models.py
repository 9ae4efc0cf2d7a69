"""A customer's history: one row per thing that happened, written in the transaction that did it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.router.db import Base
from shared.db import UtcDateTime


class Activity(Base):
    __tablename__ = "activities"
    # Keyset pagination walks (customer, time, id) newest first.
    __table_args__ = (Index("ix_activities_customer_time", "customer_id", "occurred_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(40))
    ref_id: Mapped[uuid.UUID]
    ticket_id: Mapped[uuid.UUID | None]
    summary: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
