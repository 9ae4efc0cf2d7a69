"""The search change log: written with each change, read by every replica to keep its index current.

On PostgreSQL, writers take a transaction-scoped advisory lock before appending, so rows become visible
in sequence order and a replica that has read up to sequence n can never later see a smaller one commit
(the gap a sequence leaves between two concurrent transactions). SQLite has one writer anyway. Changes
to what search ranks by are rare next to searches, so the short serialisation costs nothing visible.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.search.models import SearchChange

CHANGE_LOG_LOCK = 0x0F1257CA20
CHANGED = "knowledge.search.changed"  # set on a session that wrote the log, for the commit hook
RETENTION = timedelta(days=7)


async def record_change(session: AsyncSession, *, entity: str, entity_id: uuid.UUID) -> None:
    """Note, in the caller's transaction, that an article, known issue or feedback changed."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_LOG_LOCK})
    session.add(SearchChange(entity=entity, entity_id=entity_id, changed_at=datetime.now(UTC)))
    session.info[CHANGED] = True
    await session.flush()


async def latest_sequence(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(SearchChange.seq))) or 0)


async def changes_after(session: AsyncSession, position: int, limit: int) -> list[SearchChange]:
    query = select(SearchChange).where(SearchChange.seq > position).order_by(SearchChange.seq).limit(limit)
    return list((await session.scalars(query)).all())


async def prune(session: AsyncSession, *, now: datetime) -> None:
    """Forget old changes, always keeping the newest (SQLite would otherwise reuse its sequence number)."""
    newest = await latest_sequence(session)
    await session.execute(
        delete(SearchChange).where(SearchChange.changed_at < now - RETENTION, SearchChange.seq < newest)
    )
