"""Articles and their versions: every edit is a new version, the history is never rewritten."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.knowledge.db import Base
from shared.db import UtcDateTime


class Article(Base):
    """The article as a whole: where it stands, which version readers see, where it came from."""

    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_created", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    external_id: Mapped[str | None] = mapped_column(
        String(255), unique=True, comment="id in the knowledge base it was imported from"
    )
    status: Mapped[str] = mapped_column(String(20), comment="draft (never published), published, archived")
    current_version: Mapped[int] = mapped_column(comment="the latest version; edits must name it")
    published_version: Mapped[int | None] = mapped_column(comment="the version readers see")
    source_ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        unique=True, comment="the resolved ticket a KCS draft was proposed from"
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ArticleVersion(Base):
    """One version's content, as it was written."""

    __tablename__ = "article_versions"

    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("articles.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
