"""Which tickets are feedback, what kind, and what the customer was told."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.router.db import Base
from shared.db import UtcDateTime


class FeedbackTicket(Base):
    """A ticket that is feedback, not a fault to fix (one row per ticket, written when it is recognised)."""

    __tablename__ = "feedback_tickets"
    __table_args__ = (Index("ix_feedback_tickets_received", "received_at"),)

    # No foreign key: a ticket recognised as feedback when it is opened is written with this row in one
    # INSERT at commit (shared/inserts.py), and the ticket is never deleted.
    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(20), comment="suggestion, complaint or compliment")
    recognised_by: Mapped[str] = mapped_column(String(10), comment="intent or agent")
    intent: Mapped[str | None] = mapped_column(String(100))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(comment="the agent who marked it, if one did")
    acknowledgement: Mapped[str] = mapped_column(Text, comment="what the customer was told, quoting them")
    actor: Mapped[str] = mapped_column(String(100), comment="the API key, or router:feedback")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
