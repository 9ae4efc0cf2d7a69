"""The audit of each erasure: who asked, why and when, and what it changed; never whom it was about."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from services.router.db import Base
from shared.db import UtcDateTime


class CustomerErasure(Base):
    """One right-to-erasure request. It names the customer only by a keyed digest of their id, so the
    record proves that a given customer was erased (recompute the digest) without keeping who they were."""

    __tablename__ = "customer_erasures"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_digest: Mapped[str] = mapped_column(String(64), unique=True, comment="HMAC-SHA256 of the customer id")
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(100), comment="the API key that asked")
    status: Mapped[str] = mapped_column(String(20), comment="pending, then completed")
    erased: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="rows changed, by table")
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
