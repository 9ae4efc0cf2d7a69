"""Which RT ticket, requestor and user stand for which firstcall ticket, customer and agent."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from services.helpdesk.db import Base
from shared.db import UtcDateTime


class TicketLink(Base):
    """A firstcall ticket and its RT ticket, with where the bridge stands in the RT ticket's history."""

    __tablename__ = "ticket_links"

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, comment="firstcall's ticket")
    rt_ticket_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, comment="null until created in RT")
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    queue: Mapped[str | None] = mapped_column(String(200))
    open: Mapped[bool] = mapped_column(default=True, comment="open in firstcall (for account handoff briefings)")
    rt_last_change_id: Mapped[int] = mapped_column(
        BigInteger, default=0, comment="RT transactions up to this id are read back (or were the bridge's own)"
    )
    rt_last_updated: Mapped[datetime | None] = mapped_column(UtcDateTime(), comment="RT LastUpdated when read")
    owner_decided_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), comment="when firstcall last accepted an owner change made in RT"
    )
    status_decided_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), comment="when firstcall last accepted a status change made in RT"
    )
    context_posted: Mapped[bool] = mapped_column(default=False, comment="the agent's context comment is planned")
    problem_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    known_issue_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CustomerLink(Base):
    """The requestor address a customer has in RT: their email, or a placeholder for phone-only customers."""

    __tablename__ = "customer_links"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    requestor: Mapped[str] = mapped_column(String(320))
    placeholder: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgentLink(Base):
    """A firstcall agent and the RT user they work as (set through the bridge's admin API)."""

    __tablename__ = "agent_links"

    agent_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    rt_user: Mapped[str] = mapped_column(String(200), unique=True, comment="RT user name")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
