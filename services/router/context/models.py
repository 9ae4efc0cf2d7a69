"""What the router keeps from other services' events to answer the agent's context in one round trip."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.router.db import Base
from shared.db import UtcDateTime


class TicketKnowledge(Base):
    """The latest KnowledgeSuggested for a ticket."""

    __tablename__ = "ticket_knowledge"

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    articles: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    known_issue: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KnownIssueStatus(Base):
    """The current status of each known issue, so a suggestion shows today's fix status, not yesterday's."""

    __tablename__ = "known_issue_status"

    known_issue_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    revision: Mapped[int]
    status: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    workaround: Mapped[str | None]
    fix: Mapped[str | None]
    problem_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProblemSnapshot(Base):
    """A problem detected by the notifier, as its latest event described it."""

    __tablename__ = "problems"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    summary: Mapped[str] = mapped_column(String(1000))
    # Whose words the summary is (the notifier's summary_author_id): erasing them erases it (decision 0031).
    summary_author_id: Mapped[uuid.UUID | None] = mapped_column(
        default=None, comment="the customer whose words the summary is; NULL when not known"
    )
    status: Mapped[str] = mapped_column(String(20), comment="open, resolved or merged")
    severity: Mapped[str] = mapped_column(String(10))
    customer_count: Mapped[int]
    report_count: Mapped[int]
    resolution: Mapped[str | None]
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Ops merged it into this problem: its tickets, and any change to it that arrives late, go there.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class OfferedResolution(Base):
    """A resolved problem's fix, offered to one of its open tickets as an answer the agent confirms."""

    __tablename__ = "offered_resolutions"

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    problem_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    answer: Mapped[str] = mapped_column(Text)
    fix_version: Mapped[str | None] = mapped_column(String(100))
    article_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(20), comment="offered, accepted or auto_resolved")
    offered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100), comment="the API key, or router:problem-fix")
