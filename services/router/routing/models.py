"""Why each ticket went where it went: every routing decision with the candidates it weighed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.router.db import Base
from services.router.tickets.models import Ticket
from shared.db import UtcDateTime


class RoutingDecision(Base):
    __tablename__ = "routing_decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    rule: Mapped[str] = mapped_column(String(20), comment="continuity, skills, queue, escalation, manual")
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    explanation: Mapped[str] = mapped_column(Text)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Never loaded; it tells the unit of work to insert a new ticket before the decision about it.
    ticket: Mapped[Ticket] = relationship(lazy="raise", viewonly=False)
