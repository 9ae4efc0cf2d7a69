"""Webhook subscriptions of ops teams and systems (the contact-center software among them), and of agents'
desktops: one agent's, a team's or the whole contact center's (`audience`, docs/desktop-push.md#webhooks)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime


class Subscription(Base):
    __tablename__ = "subscriptions"
    # A desktop event looks up the subscriptions of the agents it concerns and of their teams.
    __table_args__ = (Index("ix_subscriptions_audience_team", "audience", "team"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    # Kept to sign deliveries (HMAC needs the key itself); never returned by the API. Empty for a desktop
    # webhook, whose secret is derived from `secret_nonce` and the service's secret key, never stored.
    secret: Mapped[str] = mapped_column(String(256))
    secret_nonce: Mapped[str | None] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(
        String(10), default="ops", server_default="ops", comment="ops, or a desktop's: agent, team, center"
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(index=True, comment="the agent of an `agent` audience")
    description: Mapped[str | None] = mapped_column(Text)
    # For ops a label; for a `team` audience the agents' team whose desktop events it receives.
    team: Mapped[str | None] = mapped_column(String(100))
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
