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
