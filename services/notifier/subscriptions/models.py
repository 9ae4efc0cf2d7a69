"""Webhook subscriptions of ops teams and systems (the contact-center software among them)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    # Kept to sign deliveries (HMAC needs the key itself); never returned by the API.
    secret: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(100))
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
