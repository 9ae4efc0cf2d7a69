"""The customers erased here: events about them that arrive late (another topic, a replay) are skipped."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from services.notifier.db import Base
from shared.db import UtcDateTime


class ErasedCustomer(Base):
    """An erased customer's id (a random UUID, no personal data): Kafka orders events per topic only, so a
    ticket event published before the erasure may arrive after CustomerErased and must not bring words back."""

    __tablename__ = "erased_customers"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime())
