"""Keeping what knowledge publishes that customers' messages and ops' resolutions need."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.knowledge.models import Article, KnownIssue
from shared.events.catalogue import ArticlePublished, KnownIssueUpdated


async def record_known_issue(*, session: AsyncSession, event: KnownIssueUpdated) -> KnownIssue:
    """Keep the newest revision of a known issue (events about one issue may arrive out of order)."""
    issue = await session.get(KnownIssue, event.known_issue_id)
    if issue is None:
        issue = KnownIssue(known_issue_id=event.known_issue_id, revision=0)
        session.add(issue)
    if event.revision > issue.revision:
        issue.revision = event.revision
        issue.problem_id = event.problem_id
        issue.title = event.title
        issue.status = event.status
        issue.workaround = event.workaround
        issue.fix = event.fix
        issue.fix_version = event.fix_version
        issue.updated_at = event.updated_at
    return issue


async def known_issue_for(*, session: AsyncSession, problem_id: uuid.UUID) -> KnownIssue | None:
    """What is known about a problem (the most recently updated issue linked to it)."""
    rows = await session.scalars(
        select(KnownIssue).where(KnownIssue.problem_id == problem_id).order_by(KnownIssue.updated_at.desc()).limit(1)
    )
    return rows.first()


async def move_known_issues(*, session: AsyncSession, source: uuid.UUID, target: uuid.UUID) -> None:
    """A merged problem's known issues now describe the problem it was merged into."""
    for issue in await session.scalars(select(KnownIssue).where(KnownIssue.problem_id == source)):
        issue.problem_id = target


async def record_article(*, session: AsyncSession, event: ArticlePublished) -> None:
    """Remember published articles, so a resolution can cite one by id and customers read its title."""
    article = await session.get(Article, event.article_id)
    if article is None:
        session.add(
            Article(
                article_id=event.article_id,
                version=event.article_version,
                title=event.title,
                published_at=event.published_at,
            )
        )
    elif event.article_version >= article.version:
        article.version, article.title, article.published_at = event.article_version, event.title, event.published_at


async def get_article(*, session: AsyncSession, article_id: uuid.UUID) -> Article | None:
    """A published article the notifier knows, or None."""
    return await session.get(Article, article_id)
