"""The journal of what the bridge writes to the helpdesk: each write once, in order per ticket."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.helpdesk.db import Base
from shared.db import UtcDateTime

# BIGINT on PostgreSQL, but INTEGER on SQLite: only `INTEGER PRIMARY KEY` is SQLite's auto-increment rowid.
_SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")

PENDING, DONE, FAILED, SUPERSEDED, DROPPED = "pending", "done", "failed", "superseded", "dropped"


class Effect(Base):
    """One write to the helpdesk, recorded in the transaction that decided it and carried out later.

    `id` is the marker: it goes into what is written (a comment's subject and text) so that after a crash
    between the helpdesk's answer and the commit, the retry finds the write and does not repeat it.
    """

    __tablename__ = "effects"

    seq: Mapped[int] = mapped_column(_SEQUENCE, primary_key=True, autoincrement=True, comment="order of decision")
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    ticket_id: Mapped[uuid.UUID] = mapped_column(comment="firstcall ticket: effects of one ticket go in order")
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    cause: Mapped[str] = mapped_column(
        String(120), comment="what decided it: an event and its aggregate, or an RT transaction"
    )
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime(), comment="when firstcall decided (the event's time)")
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), comment="first attempt: RT may have it")
    watermark: Mapped[int | None] = mapped_column(BigInteger, comment="RT's last transaction before the attempt")
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index(
            "ix_effects_ticket_pending",
            "ticket_id",
            "seq",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_effects_status_due", "status", "next_attempt_at"),
    )

    @property
    def marker(self) -> str:
        """What identifies this write inside the helpdesk."""
        return f"fc-{self.id.hex[:16]}"
