"""What agents said about an article for a ticket: it resolved it, helped, or did not help."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.knowledge.db import Base
from shared.db import UtcDateTime


class ArticleFeedback(Base):
    __tablename__ = "article_feedback"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("articles.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20), comment="resolved, helpful, not_helpful")
    query: Mapped[str | None] = mapped_column(Text, comment="the words the article answered (or did not)")
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(20), comment="agent (API) or ticket (TicketResolved)")
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
