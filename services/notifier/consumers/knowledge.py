"""Knowledge events in: what is known about a problem, and which articles exist."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.knowledge import service as knowledge_service
from shared.events.catalogue import ArticlePublished, KnownIssueUpdated


async def on_known_issue_updated(event: KnownIssueUpdated, session: AsyncSession) -> None:
    await knowledge_service.record_known_issue(session=session, event=event)


async def on_article_published(event: ArticlePublished, session: AsyncSession) -> None:
    await knowledge_service.record_article(session=session, event=event)
