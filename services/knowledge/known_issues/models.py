"""Known issues: a problem many customers hit, its symptoms, and whether a workaround or fix exists."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from services.knowledge.db import Base
from shared.db import UtcDateTime


class KnownIssue(Base):
    __tablename__ = "known_issues"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    problem_id: Mapped[uuid.UUID | None] = mapped_column(unique=True, comment="the notifier's problem, if any")
    title: Mapped[str] = mapped_column(String(300))
    symptoms: Mapped[str] = mapped_column(Text)
    affected_products: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(30), comment="investigating, workaround_available, fix_available")
    workaround: Mapped[str | None] = mapped_column(Text)
    fix: Mapped[str | None] = mapped_column(Text)
    fix_version: Mapped[str | None] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(comment="grows with every change; edits must name it")
    drafted: Mapped[bool] = mapped_column(
        default=False,
        server_default=false(),
        comment="title and symptoms are the machine's draft from the problem, redrafted on its next event; "
        "false once a person wrote them",
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KnownIssueTicket(Base):
    """A ticket the notifier grouped into a known issue's problem (it may arrive before the ticket does)."""

    __tablename__ = "known_issue_tickets"

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    known_issue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("known_issues.id"), index=True)
