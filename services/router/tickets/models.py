"""Tickets, the notes on them and their transfers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.router.db import Base
from shared.db import UtcDateTime

# Statuses in which a ticket occupies its agent's capacity.
ACTIVE_STATUSES = ("open", "pending_approval")
PRIORITY_RANK = {"urgent": 4, "high": 3, "normal": 2, "low": 1}
# A waiting ticket, as the partial index states it (one predicate for both databases).
_WAITING = text("status = 'open' AND agent_id IS NULL")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_customer_opened", "customer_id", "opened_at"),
        Index("ix_tickets_agent_status", "agent_id", "status"),
        # The queue: unassigned active tickets, highest priority then oldest first.
        Index("ix_tickets_queue", "status", "agent_id", "priority_rank", "queued_at"),
        Index("ix_tickets_sla", "first_response_due_at"),
        # Only the waiting tickets, by channel: a queue position counts these entries and nothing else, and
        # an agent who frees up reads the head of their channel's queue from it.
        Index(
            "ix_tickets_waiting",
            "channel",
            "priority_rank",
            "queued_at",
            postgresql_where=_WAITING,
            sqlite_where=_WAITING,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(10))
    priority_rank: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="open")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    intent: Mapped[str | None] = mapped_column(String(100), index=True)
    intent_confidence: Mapped[float | None]
    required_skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    likely_resolution: Mapped[str | None] = mapped_column(String(20))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), comment="time to assignment")
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sla_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    transfers: Mapped[int] = mapped_column(default=0)
    resolution_type: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[uuid.UUID | None]
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    reopened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    problem_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.description}".strip()


class TicketNote(Base):
    """What an agent wrote on a ticket; the first public note is the first response."""

    __tablename__ = "ticket_notes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Transfer(Base):
    """A ticket leaving its agent: each one is a first-contact failure, counted by reason."""

    __tablename__ = "transfers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    from_agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    to_agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    corrected_intent: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
