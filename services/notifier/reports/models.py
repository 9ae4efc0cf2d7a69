"""Customer reports as the notifier indexes them to find the same problem across customers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime


class Report(Base):
    __tablename__ = "reports"
    # Duplicate detection compares a report with recent ones: the window is a range on opened_at; a
    # joining report is compared with its cluster's most recent members (the newest of a crisis's thousands).
    # Whether a customer is new to a cluster, and their first report in it, is one probe of the last index.
    __table_args__ = (
        Index("ix_reports_opened_at", "opened_at"),
        Index("ix_reports_cluster_opened_at", "cluster_id", "opened_at"),
        Index("ix_reports_cluster_customer", "cluster_id", "customer_id", "opened_at"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    subject: Mapped[str] = mapped_column(String(300), default="")
    customer_name: Mapped[str | None] = mapped_column(String(200))
    intent: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str | None] = mapped_column(String(100))
    cluster_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("problems.id"))
    # The report's vectors (detection.similarity.ReportVector: words and n-grams in `features`, the
    # sentence embedding in `embedding`); both dropped when it leaves the window.
    features: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
