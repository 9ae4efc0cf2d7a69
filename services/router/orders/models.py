"""Orders, so that returns, refunds and replacements can be decided at first contact."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.router.db import Base
from services.router.money import StoredMoney
from shared.db import UtcDateTime


class Order(Base):
    __tablename__ = "orders"
    # A commerce system sends its own order number; seeing it twice must not create a second order.
    __table_args__ = (UniqueConstraint("source", "external_ref", name="uq_order_external_ref"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(40), default="api")
    external_ref: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(StoredMoney())
    ordered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    items: Mapped[list[OrderItem]] = relationship(lazy="raise", order_by="OrderItem.position")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int]
    sku: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(StoredMoney())
