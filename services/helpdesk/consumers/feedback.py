"""Feedback events in: a decision taken in firstcall (through the API, or sent from RT) is shown in RT."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.feedback import mirror
from services.helpdesk.settings import HelpdeskSettings
from shared.events.catalogue import FeedbackDecided


async def on_feedback_decided(event: FeedbackDecided, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    if not settings.feedback_enabled:
        return
    now = datetime.now(UTC)
    link = await mirror.link_of(session=session, cluster_id=event.cluster_id, owner=event.owner, now=now)
    cause = f"{event.name} {event.aggregate_id}"
    mirror.stage(session=session, link=link, kind=mirror.SYNC, payload={}, cause=cause, now=now)
