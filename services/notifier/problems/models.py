"""Clusters of near-duplicate reports; a cluster that reaches enough customers is a problem for ops."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime

# forming: a cluster below the customer threshold; open/resolved: a problem; merged: folded into another.
ProblemStatus = Literal["forming", "open", "resolved", "merged"]
ACTIVE_STATUSES = ("forming", "open")


class Problem(Base):
    __tablename__ = "problems"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(20), index=True)
    severity: Mapped[str] = mapped_column(String(10), default="minor")
    summary_text: Mapped[str] = mapped_column(Text, default="")
    representative_ticket_id: Mapped[uuid.UUID | None]
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    growth_per_hour: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    detected_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution: Mapped[str | None] = mapped_column(Text)
    fix_version: Mapped[str | None] = mapped_column(String(100))
    article_id: Mapped[uuid.UUID | None]
    merged_into: Mapped[uuid.UUID | None]
    # Kept as reports join (state.count_joined) rather than counted from the members at every join: a
    # crisis has thousands, and each of its reports would read them all.
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    customer_count: Mapped[int] = mapped_column(Integer, default=0)
    intents: Mapped[list[str]] = mapped_column(JSON, default=list)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)


class ProblemExclusion(Base):
    """Ops split this ticket off this problem: the detector must never group them again."""

    __tablename__ = "problem_exclusions"

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    problem_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
