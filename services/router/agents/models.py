"""Agents: who can take which tickets, how many at once, and what they may decide alone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from services.router.db import Base
from shared.db import UtcDateTime


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    team: Mapped[str | None] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(20), default="agent", comment="agent, team_lead or supervisor")
    status: Mapped[str] = mapped_column(String(20), index=True)
    skills: Mapped[dict[str, int]] = mapped_column(JSON, comment="skill -> level 1..5")
    capacity: Mapped[dict[str, int]] = mapped_column(JSON, comment="channel -> open tickets at once")
    authority: Mapped[dict[str, Any]] = mapped_column(
        JSON, comment="resolution type -> currency -> largest amount without approval (decimal string)"
    )
    # Longest idle first when balancing: the last time this agent was given a ticket.
    last_assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
