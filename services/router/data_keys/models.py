"""One data key per customer, stored only wrapped; erasure leaves a tombstone without the key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from services.router.db import Base
from shared.db import UtcDateTime


class CustomerDataKey(Base):
    """The customer's data key wrapped under the key-encryption key (shared/sealing.py). After the
    customer's erasure the row stays without it, so the router can say "erased" rather than "unknown"."""

    __tablename__ = "customer_data_keys"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(
        LargeBinary(64), comment="nonce | AES-GCM(key-encryption key, data key); NULL once erased"
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
