"""What the knowledge service knows of each ticket, and the articles it suggested for it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.knowledge.db import Base
from shared.db import UtcDateTime


class TicketSuggestion(Base):
    __tablename__ = "ticket_suggestions"

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    query: Mapped[str] = mapped_column(Text, comment="the ticket's words, as searched")
    articles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    known_issue: Mapped[dict[str, Any] | None] = mapped_column(JSON, comment="the matching known issue, if any")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    computed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), comment="when suggestions were last computed")
