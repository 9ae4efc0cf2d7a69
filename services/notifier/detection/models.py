"""The duplicate-detection index: postings of terms to recent reports, and how common each term is.

It lives in the notifier's database, not in a process, so every replica reads the same index and memory
stays flat however many reports the window holds.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, PrimaryKeyConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime

# The term_stats row holding the number of indexed reports (no term hashes to 0).
DOCUMENT_COUNT_TERM = 0


class ReportTerm(Base):
    """One term of one report; the key order serves "the most recent reports with this term"."""

    __tablename__ = "report_terms"
    # The weight rides in the primary key's index (PostgreSQL INCLUDE): candidate lookups are index-only
    # scans and never touch the heap, which is what keeps them fast at a million reports.
    __table_args__ = (PrimaryKeyConstraint("term", "opened_at", "ticket_id", postgresql_include=["weight"]),)

    term: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ticket_id: Mapped[uuid.UUID]
    weight: Mapped[float] = mapped_column(Float)


class TermStat(Base):
    """In how many indexed reports a term appears (its rarity makes it telling)."""

    __tablename__ = "term_stats"

    term: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reports: Mapped[int] = mapped_column(Integer)
