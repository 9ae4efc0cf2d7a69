"""What the knowledge service has told the notifier: known issues (what customers can be told) and articles."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime


class KnownIssue(Base):
    __tablename__ = "known_issues"

    known_issue_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    problem_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30))
    workaround: Mapped[str | None] = mapped_column(Text)
    fix: Mapped[str | None] = mapped_column(Text)
    fix_version: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Article(Base):
    __tablename__ = "articles"

    article_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
