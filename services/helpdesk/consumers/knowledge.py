"""Knowledge events in: late suggestions, and known issues whose fix status changed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.outbound import problems
from services.helpdesk.settings import HelpdeskSettings
from shared.events.catalogue import KnowledgeSuggested, KnownIssueUpdated


async def on_knowledge_suggested(
    event: KnowledgeSuggested, session: AsyncSession, *, settings: HelpdeskSettings
) -> None:
    await problems.knowledge_suggested(
        session=session, event=event, article_url=settings.article_url, now=datetime.now(UTC)
    )


async def on_known_issue_updated(
    event: KnownIssueUpdated, session: AsyncSession, *, settings: HelpdeskSettings
) -> None:
    await problems.known_issue_updated(session=session, event=event, now=datetime.now(UTC))
