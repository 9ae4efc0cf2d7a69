"""Tickets, the notes on them and their transfers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.router.db import Base
from services.router.tickets.life import CAPACITY_STATUSES
from shared.db import UtcDateTime

# Statuses in which a ticket occupies its agent's capacity (services/router/tickets/life.py has the others).
ACTIVE_STATUSES = CAPACITY_STATUSES
PRIORITY_RANK = {"urgent": 4, "high": 3, "normal": 2, "low": 1}
# A waiting ticket, as the partial index states it (one predicate for both databases).
_WAITING = text("status = 'open' AND agent_id IS NULL")
_RESOLVED = text("status = 'resolved'")
_BREACHED = text("sla_breached_at IS NOT NULL")


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
        # GET /v1/tickets: each sort key with the id that breaks its ties (keyset pages), and the status
        # filter beside the default sort; the other filters narrow through their own indexes.
        Index("ix_tickets_opened_id", "opened_at", "id"),
        Index("ix_tickets_updated_id", "updated_at", "id"),
        Index("ix_tickets_status_opened", "status", "opened_at", "id"),
        Index("ix_tickets_breached", "opened_at", postgresql_where=_BREACHED, sqlite_where=_BREACHED),
        # The quiet-period sweep: resolved tickets by their last change, and nothing else.
        Index("ix_tickets_resolved_quiet", "updated_at", postgresql_where=_RESOLVED, sqlite_where=_RESOLVED),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(10))
    priority_rank: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="open")
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # pending_customer pauses the first-response clock: when the pause began, and the pauses so far.
    sla_paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sla_paused_seconds: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    cancel_reason: Mapped[str | None] = mapped_column(String(20), comment="duplicate or spam")
    # Checked when written; no foreign key, so adding it needs no table rebuild on SQLite.
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(comment="the ticket a cancelled duplicate repeats")
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
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.description}".strip()


class TicketNote(Base):
    """What an agent wrote on a ticket; the first public note is the first response."""

    __tablename__ = "ticket_notes"
    # GET /v1/tickets/{id}/notes: a ticket's notes in the order written, by keyset.
    __table_args__ = (Index("ix_ticket_notes_ticket_created", "ticket_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
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


class TicketStatusChange(Base):
    """The audit of a ticket's life: every transition, what caused it, who, when and why."""

    __tablename__ = "ticket_status_changes"
    __table_args__ = (Index("ix_ticket_status_changes_ticket", "ticket_id", "changed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(30), comment="services/router/tickets/life.py Trigger")
    reason: Mapped[str | None] = mapped_column(Text)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(comment="the agent who acted, if one did")
    actor: Mapped[str] = mapped_column(String(100), comment="the API key, or router:<task> for the router's own")
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
