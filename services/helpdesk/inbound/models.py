"""Where the bridge stands in the helpdesk's changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from services.helpdesk.db import Base
from shared.db import UtcDateTime


class SyncCursor(Base):
    """A persisted position: RT's LastUpdated up to which every ticket's changes were read back."""

    __tablename__ = "sync_cursors"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
