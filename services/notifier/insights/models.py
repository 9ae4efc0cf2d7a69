"""Transfers as insight counts them, and the digest's one row per period.

A transfer keeps no customer id and no note: it is counted by reason, intent, team and channel, and an
agent's note may quote the customer. So an erasure has nothing to take from it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime


class TicketTransfer(Base):
    """A ticket moved away from its agent (TicketTransferred), with what insight counts it by."""

    __tablename__ = "ticket_transfers"
    __table_args__ = (Index("ix_ticket_transfers_transferred_at", "transferred_at"),)

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    transferred_at: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40))
    intent: Mapped[str | None] = mapped_column(String(100), comment="the intent the ticket was opened with")
    team: Mapped[str | None] = mapped_column(String(100), comment="the team of the agent it moved away from")
    channel: Mapped[str | None] = mapped_column(String(20))


class DigestPeriod(Base):
    """A digest sent (decided) for one period: the unique key is what makes it once across replicas."""

    __tablename__ = "digest_periods"

    period_key: Mapped[str] = mapped_column(String(64), primary_key=True, comment="the scheduled time, ISO 8601")
    range_start: Mapped[datetime] = mapped_column(UtcDateTime())
    range_end: Mapped[datetime] = mapped_column(UtcDateTime())
    recipients: Mapped[int] = mapped_column(Integer, comment="deliveries staged: addresses, and the webhook")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
