"""The duplicate-detection index: postings of terms to recent reports, how common each term is, and the
map of meaning (centroids learned from the reports) with each report posted under its nearest centroid.

It lives in the notifier's database, not in a process, so every replica reads the same index and memory
stays flat however many reports the window holds.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, LargeBinary, PrimaryKeyConstraint, String
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


class DetectionModel(Base):
    """Centroids of the reports' meanings: the buckets of the embedding index, learned from the window.

    `status`: `active` (searched and posted to), `building` (posted to and being filled with the window's
    reports; it replaces the active one when full), `retired` (its postings are being deleted). A model
    of one bucket needs no centroids: a small window is searched whole, newest first.
    """

    __tablename__ = "detection_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    encoder: Mapped[int] = mapped_column(BigInteger, comment="fingerprint of the encoder (embedding.fingerprint)")
    encoder_name: Mapped[str] = mapped_column(String(200))
    dimension: Mapped[int] = mapped_column(Integer)
    buckets: Mapped[int] = mapped_column(Integer)
    centroids: Mapped[bytes | None] = mapped_column(LargeBinary, comment="float16, buckets x dimension")
    status: Mapped[str] = mapped_column(String(20), index=True)
    trained_on: Mapped[int] = mapped_column(Integer, comment="reports in the window when learned")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Where filling a building model has got to, so any replica can carry on after a restart.
    filled_to_opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    filled_to_ticket_id: Mapped[uuid.UUID | None]


class ReportBucket(Base):
    """One report under its nearest centroid; the key order serves "the newest reports in this bucket"."""

    __tablename__ = "report_buckets"
    # The vector's sketch rides in the primary key's index (PostgreSQL INCLUDE): probing a bucket is an
    # index-only range scan, as for the terms.
    __table_args__ = (
        PrimaryKeyConstraint("model_id", "bucket", "opened_at", "ticket_id", postgresql_include=["vector"]),
    )

    model_id: Mapped[int] = mapped_column(Integer, autoincrement=False)
    bucket: Mapped[int] = mapped_column(Integer, autoincrement=False)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ticket_id: Mapped[uuid.UUID]
    vector: Mapped[bytes] = mapped_column(
        LargeBinary, comment="embedding.Meaning.sketch (Meaning bytes in postings written before sketches)"
    )
