"""The weekly digest's content: what customers most needed, what was decided, and what still waits for an
owner, with the two FCR figures and transfers by reason. The figures are GET /v1/insights' own; the digest
adds what was decided in the range and the waiting feedback by name, and says it in plain words
(rendering.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.feedback import insights as insight_service
from services.notifier.feedback.models import FeedbackCluster, FeedbackVoice

LISTED = 10  # decisions and waiting feedback named in one digest; the counts say how many more


@dataclass(frozen=True)
class Digest:
    """One range's digest, before it is put in words."""

    start: datetime
    end: datetime
    figures: dict[str, Any]
    new_voices: dict[uuid.UUID, int] = field(default_factory=dict)
    decided: list[FeedbackCluster] = field(default_factory=list)
    decided_total: int = 0
    unowned: list[FeedbackCluster] = field(default_factory=list)
    escalated: list[FeedbackCluster] = field(default_factory=list)


async def digest_of(*, session: AsyncSession, start: datetime, end: datetime) -> Digest:
    """Everything the digest of [start, end) says, read in a few statements."""
    figures = await insight_service.insights(session=session, start=start, end=end)
    top_ids = [item["id"] for item in figures["top_feedback"]]
    decided_in_range = (FeedbackCluster.decided_at >= start, FeedbackCluster.decided_at < end)
    waiting = (FeedbackCluster.status == "open", FeedbackCluster.created_at < end)
    return Digest(
        start=start,
        end=end,
        figures=figures,
        new_voices=await _new_customers(session, top_ids, start, end),
        decided=await _clusters(session, *decided_in_range, order=FeedbackCluster.decided_at.desc()),
        decided_total=await _count(session, *decided_in_range),
        unowned=await _clusters(session, *waiting, FeedbackCluster.unowned.is_(True)),
        escalated=await _clusters(
            session, *waiting, FeedbackCluster.unowned.is_(False), FeedbackCluster.escalated_at.is_not(None)
        ),
    )


async def _new_customers(
    session: AsyncSession, cluster_ids: list[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, int]:
    """The growth of each cluster in the range: customers whose voice in it came in the range."""
    if not cluster_ids:
        return {}
    rows = await session.execute(
        select(FeedbackVoice.cluster_id, func.count(distinct(FeedbackVoice.customer_id)))
        .where(
            FeedbackVoice.cluster_id.in_(cluster_ids),
            FeedbackVoice.received_at >= start,
            FeedbackVoice.received_at < end,
        )
        .group_by(FeedbackVoice.cluster_id)
    )
    return {cluster_id: int(count) for cluster_id, count in rows}


async def _clusters(session: AsyncSession, *where: Any, order: Any = None) -> list[FeedbackCluster]:
    ordering = [order] if order is not None else [FeedbackCluster.customer_count.desc()]
    statement = select(FeedbackCluster).where(*where).order_by(*ordering, FeedbackCluster.id).limit(LISTED)
    return list((await session.scalars(statement)).all())


async def _count(session: AsyncSession, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(FeedbackCluster).where(*where)) or 0)
