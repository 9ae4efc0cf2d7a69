"""What the notifier remembers of the router's events to address desktop webhooks: an agent's team, and
the agent who asked for each approval still waiting (ApprovalDecided names only the supervisor)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime


class DesktopAgent(Base):
    """An agent's team, from AgentRegistered (a team subscription hears the agents of its team)."""

    __tablename__ = "desktop_agents"

    agent_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    team: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PendingApproval(Base):
    """An approval asked for and not decided yet: who asked. Deleted when its decision is handled."""

    __tablename__ = "desktop_pending_approvals"

    approval_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agent_id: Mapped[uuid.UUID]
    ticket_id: Mapped[uuid.UUID]
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
