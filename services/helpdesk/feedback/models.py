"""Which RT ticket shows which feedback cluster, and where the bridge stands in both."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from services.helpdesk.db import Base
from shared.db import UtcDateTime


class FeedbackLink(Base):
    """A notifier feedback cluster and the RT ticket its owner decides it in."""

    __tablename__ = "feedback_links"

    cluster_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, comment="the notifier's feedback cluster")
    rt_ticket_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, comment="null until created in RT")
    owner: Mapped[str] = mapped_column(String(100), comment="the owner team, as the notifier named it")
    queue: Mapped[str | None] = mapped_column(String(200))
    voice_count: Mapped[int] = mapped_column(default=0, comment="voices the notifier had at the last look")
    voices_shown: Mapped[int] = mapped_column(default=0, comment="voices written into the RT ticket so far")
    decision_shown: Mapped[bool] = mapped_column(default=False, comment="the decision is shown in RT")
    rt_last_change_id: Mapped[int] = mapped_column(
        BigInteger, default=0, comment="RT transactions up to this id are read back (or were the bridge's own)"
    )
    rt_last_updated: Mapped[datetime | None] = mapped_column(UtcDateTime(), comment="RT LastUpdated when read")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
