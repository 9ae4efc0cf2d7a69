"""What the intent classifier learns from, the models it trained, and what each intent needs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.router.db import Base
from shared.db import UtcDateTime


class IntentExample(Base):
    __tablename__ = "intent_examples"
    __table_args__ = (Index("ix_intent_examples_intent", "intent"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), comment="import, resolution or transfer")
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IntentModel(Base):
    """One training run; the newest `ready` model is the one every replica classifies with."""

    __tablename__ = "intent_models"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(20), comment="training, ready or failed")
    example_count: Mapped[int]
    intent_count: Mapped[int]
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    trained_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class IntentProfile(Base):
    """What resolving an intent takes: the skills to route on and the resolution it usually ends in."""

    __tablename__ = "intent_profiles"

    intent: Mapped[str] = mapped_column(String(100), primary_key=True)
    required_skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    likely_resolution: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(10), comment="raise new tickets to at least this")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
