"""Recording and reading a customer's history across channels."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.history.models import Activity
from shared.web.pagination import decode_time_cursor, encode_cursor


def record(
    *,
    session: AsyncSession,
    customer_id: uuid.UUID,
    kind: str,
    ref_id: uuid.UUID,
    summary: str,
    occurred_at: datetime,
    ticket_id: uuid.UUID | None = None,
    actor: str | None = None,
) -> None:
    """Add an entry to the history, in the caller's transaction."""
    session.add(
        entry(
            customer_id=customer_id,
            kind=kind,
            ref_id=ref_id,
            ticket_id=ticket_id,
            summary=summary,
            actor=actor,
            occurred_at=occurred_at,
        )
    )


def entry(
    *,
    customer_id: uuid.UUID,
    kind: str,
    ref_id: uuid.UUID,
    summary: str,
    occurred_at: datetime,
    ticket_id: uuid.UUID | None = None,
    actor: str | None = None,
) -> Activity:
    """A history entry not yet added anywhere, for a caller that writes its rows itself (the hot path)."""
    return Activity(
        id=uuid.uuid4(),
        customer_id=customer_id,
        kind=kind,
        ref_id=ref_id,
        ticket_id=ticket_id,
        summary=summary[:500],
        actor=actor,
        occurred_at=occurred_at,
    )


async def page(
    *, session: AsyncSession, customer_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[Activity], str | None]:
    """Newest first; the cursor continues after the last entry of the previous page."""
    query = select(Activity).where(Activity.customer_id == customer_id)
    if cursor is not None:
        at, key = decode_time_cursor(cursor)
        query = query.where(or_(Activity.occurred_at < at, and_(Activity.occurred_at == at, Activity.id < key)))
    rows = list(
        (await session.scalars(query.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit + 1))).all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].occurred_at.isoformat(), str(rows[-1].id)) if more else None


async def recent(*, session: AsyncSession, customer_id: uuid.UUID, limit: int) -> list[Activity]:
    """The latest entries, for the agent's context and the owner's briefing."""
    rows, _ = await page(session=session, customer_id=customer_id, limit=limit, cursor=None)
    return rows
