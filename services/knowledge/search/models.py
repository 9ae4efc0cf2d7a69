"""The change log every replica's search index follows: one row per change to what search ranks by."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.knowledge.db import Base
from shared.db import UtcDateTime


class SearchChange(Base):
    """Written in the transaction of the change; replicas apply rows past the last sequence they saw."""

    __tablename__ = "search_changes"

    # INTEGER on SQLite: only `INTEGER PRIMARY KEY` is its auto-increment rowid.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    entity: Mapped[str] = mapped_column(String(20), comment="article, known_issue or feedback")
    entity_id: Mapped[uuid.UUID]
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
