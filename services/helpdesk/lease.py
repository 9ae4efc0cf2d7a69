"""One replica at a time talks to the helpdesk: per-ticket order and the one cursor need a single writer.

The holder renews its lease on every cycle; if it dies, another replica takes over once the lease ran out.
A replica that lost the lease finishes the item in hand (effects are idempotent, router calls keyed).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import String, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.helpdesk.db import Base
from shared.db import UtcDateTime, insert_ignoring_duplicates

BRIDGE = "helpdesk-bridge"


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


async def hold(*, session: AsyncSession, holder: str, now: datetime, seconds: float, name: str = BRIDGE) -> bool:
    """Take or renew the lease; False while another replica holds it."""
    expires = now + timedelta(seconds=seconds)
    values = {"name": name, "holder": holder, "expires_at": expires}
    await insert_ignoring_duplicates(session, Lease.__table__, values)  # type: ignore[arg-type]
    result = await session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=expires)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def release(*, session: AsyncSession, holder: str, name: str = BRIDGE) -> None:
    """Let another replica take over at once (a clean stop)."""
    await session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=datetime.fromtimestamp(0, UTC))
    )
