"""Customers and the identities they are known by on each channel."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.router.db import Base
from shared.db import UtcDateTime


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    display_name: Mapped[str | None] = mapped_column(String(200))
    owner_agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"), index=True)
    # A merged profile is kept as a tombstone pointing at the survivor, so old references still resolve.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Async sessions cannot lazy-load: "raise" turns a forgotten eager load into a clear error.
    identities: Mapped[list[CustomerIdentity]] = relationship(back_populates="customer", lazy="raise")


class CustomerIdentity(Base):
    """One way to recognise a customer: an email, a phone number, or an id in another system."""

    __tablename__ = "customer_identities"
    # An identity belongs to one customer: this constraint is what lets two channels meet on one profile.
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_customer_identity"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    customer: Mapped[Customer] = relationship(back_populates="identities", lazy="raise")


class CustomerMerge(Base):
    """A merge, kept so that it can be undone exactly within FIRSTCALL_ROUTER_UNMERGE_WINDOW_HOURS."""

    __tablename__ = "customer_merges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(100))
    # What the survivor had before it took the merged profile's name or owner (restored if still so).
    survivor_display_name: Mapped[str | None] = mapped_column(String(200))
    survivor_owner_agent_id: Mapped[uuid.UUID | None]
    merged_at: Mapped[datetime] = mapped_column(UtcDateTime())
    undone_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    undone_by: Mapped[str | None] = mapped_column(String(100))
    undo_reason: Mapped[str | None] = mapped_column(String(500))


class CustomerMergeMove(Base):
    """One row a merge moved from the merged profile to the survivor: what an undo moves back."""

    __tablename__ = "customer_merge_moves"

    merge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_merges.id"), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    row_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
