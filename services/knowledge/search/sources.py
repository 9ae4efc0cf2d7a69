"""What the search index is built from, read from the knowledge service's own tables."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.articles.models import Article, ArticleVersion
from services.knowledge.feedback.models import ArticleFeedback
from services.knowledge.known_issues.models import KnownIssue
from services.knowledge.search.index import IndexedDocument

POSITIVE_OUTCOMES = frozenset({"resolved", "helpful"})
BATCH = 2000


def article_document(article: Article, version: ArticleVersion) -> IndexedDocument:
    return IndexedDocument(
        id=article.id,
        kind="article",
        version=version.version,
        title=version.title,
        body=version.body,
        products=tuple(version.products),
        tags=tuple(version.tags),
        locale=version.locale,
    )


def known_issue_document(issue: KnownIssue) -> IndexedDocument:
    body = "\n\n".join(part for part in (issue.symptoms, issue.workaround, issue.fix) if part)
    return IndexedDocument(
        id=issue.id,
        kind="known_issue",
        version=issue.revision,
        title=issue.title,
        body=body,
        products=tuple(issue.affected_products),
        tags=(issue.status,),
    )


async def published_articles(
    session: AsyncSession, ids: Sequence[uuid.UUID] | None = None
) -> AsyncIterator[list[tuple[uuid.UUID, IndexedDocument | None]]]:
    """(id, what readers see or None) in batches; None means the id must leave the index."""
    after: uuid.UUID | None = None
    while True:
        query = select(Article).order_by(Article.id).limit(BATCH)
        if ids is not None:
            query = query.where(Article.id.in_(ids))
        if after is not None:
            query = query.where(Article.id > after)
        articles = list((await session.scalars(query)).all())
        if not articles:
            return
        after = articles[-1].id
        visible = [a for a in articles if a.status == "published" and a.published_version is not None]
        versions = await _versions(session, visible)
        yield [(a.id, article_document(a, versions[a.id]) if a.id in versions else None) for a in articles]


async def _versions(session: AsyncSession, articles: list[Article]) -> dict[uuid.UUID, ArticleVersion]:
    if not articles:
        return {}
    wanted = {a.id: a.published_version for a in articles}
    rows = await session.scalars(select(ArticleVersion).where(ArticleVersion.article_id.in_(list(wanted))))
    return {v.article_id: v for v in rows if wanted[v.article_id] == v.version}


async def known_issues(session: AsyncSession, ids: Sequence[uuid.UUID] | None = None) -> list[KnownIssue]:
    query = select(KnownIssue).order_by(KnownIssue.id)
    if ids is not None:
        query = query.where(KnownIssue.id.in_(ids))
    return list((await session.scalars(query)).all())


async def feedback(
    session: AsyncSession, ids: Sequence[uuid.UUID] | None = None
) -> AsyncIterator[list[tuple[uuid.UUID, uuid.UUID, float, str]]]:
    """(feedback id, article id, +1 or -1, query) in batches, for feedback that names a query."""
    after: uuid.UUID | None = None
    while True:
        query = select(ArticleFeedback).where(ArticleFeedback.query.is_not(None)).order_by(ArticleFeedback.id)
        if ids is not None:
            query = query.where(ArticleFeedback.id.in_(ids))
        if after is not None:
            query = query.where(ArticleFeedback.id > after)
        rows = list((await session.scalars(query.limit(BATCH))).all())
        if not rows:
            return
        after = rows[-1].id
        yield [
            (row.id, row.article_id, 1.0 if row.outcome in POSITIVE_OUTCOMES else -1.0, row.query or "") for row in rows
        ]
