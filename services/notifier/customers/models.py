"""How to reach each customer, whether they want to hear from us, and the messages' editable templates."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime


class CustomerContact(Base):
    __tablename__ = "customer_contacts"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    # email or webhook (the contact-center software); None: email when known, else webhook.
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MessageTemplate(Base):
    """A template ops edited; the built-in default applies until one exists."""

    __tablename__ = "message_templates"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
