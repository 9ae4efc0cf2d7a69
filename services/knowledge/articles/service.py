"""Writing and reading articles: every change is a new version, stored with its events in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import MISSING
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.articles.models import Article, ArticleVersion
from services.knowledge.articles.schemas import ArticleCreate, ArticleRead, ArticleUpdate
from services.knowledge.search.changes import record_change
from shared.errors import Conflict, NotFound
from shared.events.catalogue import ArticleArchived, ArticlePublished, ArticleUpdated, Event
from shared.messaging.outbox import add_events
from shared.web import conditional
from shared.web.pagination import decode_time_cursor, encode_cursor

CONTENT_FIELDS = ("title", "body", "tags", "products", "locale")


async def create_article(
    *, session: AsyncSession, request: ArticleCreate, source_ticket_id: uuid.UUID | None = None
) -> ArticleRead:
    """Store version 1 of a new article and announce it (published, or a draft for review)."""
    if request.external_id is not None:
        await _refuse_taken_external_id(session, request.external_id)
    now = datetime.now(UTC)
    article = Article(
        id=uuid.uuid4(),
        external_id=request.external_id,
        status=request.status,
        current_version=1,
        published_version=1 if request.status == "published" else None,
        source_ticket_id=source_ticket_id,
        created_at=now,
        updated_at=now,
    )
    content = {name: getattr(request, name) for name in CONTENT_FIELDS}
    version = ArticleVersion(article_id=article.id, version=1, status=request.status, created_at=now, **content)
    session.add(article)
    await session.flush()
    session.add(version)
    await _announce(session, article, version)
    return article_read(article, version)


async def update_article(
    *,
    session: AsyncSession,
    article_id: uuid.UUID,
    request: ArticleUpdate,
    expected: conditional.Expected | None = None,
) -> ArticleRead:
    """Make a new version from the latest one, if the editor saw the latest (optimistic concurrency): the
    `version` named, and the representation `expected` by If-Match, checked on the locked row."""
    article = await _get_for_update(session, article_id)
    if expected is not None:
        conditional.check(expected, article_read(article, await shown_version(session, article)))
    if article.status == "archived":
        raise Conflict("article-archived", f"Article {article_id} is archived; archived articles cannot be edited.")
    if request.version != article.current_version:
        raise Conflict(
            "stale-version",
            f"Version {request.version} is not the latest ({article.current_version}): read it again and reapply.",
            current_version=article.current_version,
        )
    latest = await _version(session, article_id, article.current_version)
    changes = request.model_dump(include=set(CONTENT_FIELDS), exclude_unset=True)
    status = latest.status if request.status is MISSING else request.status
    return await new_version(session=session, article=article, latest=latest, changes=changes, status=status)


async def new_version(
    *, session: AsyncSession, article: Article, latest: ArticleVersion, changes: dict[str, Any], status: str
) -> ArticleRead:
    """Write the next version unless nothing would change (an edit with no effect is not a version)."""
    content = {name: changes.get(name, getattr(latest, name)) for name in CONTENT_FIELDS}
    if status == latest.status and all(content[name] == getattr(latest, name) for name in CONTENT_FIELDS):
        return article_read(article, await shown_version(session, article))
    now = datetime.now(UTC)
    version = ArticleVersion(
        article_id=article.id, version=article.current_version + 1, status=status, created_at=now, **content
    )
    article.current_version = version.version
    article.updated_at = now
    if status == "published":
        article.status, article.published_version = "published", version.version
    elif status == "archived":
        article.status = "archived"
    session.add(version)
    await _announce(session, article, version)
    return article_read(article, await shown_version(session, article) if status != "published" else version)


async def get_article(*, session: AsyncSession, article_id: uuid.UUID) -> ArticleRead:
    """What a reader sees of an article, or a 404 problem."""
    article = await session.get(Article, article_id)
    if article is None:
        raise NotFound("Article", article_id)
    return article_read(article, await shown_version(session, article))


async def list_versions(*, session: AsyncSession, article_id: uuid.UUID) -> list[ArticleVersion]:
    """Every version of an article, oldest first: the history is never rewritten."""
    if await session.get(Article, article_id) is None:
        raise NotFound("Article", article_id)
    query = select(ArticleVersion).where(ArticleVersion.article_id == article_id).order_by(ArticleVersion.version)
    return list((await session.scalars(query)).all())


async def list_articles(
    *, session: AsyncSession, status: str | None, cursor: str | None, limit: int
) -> tuple[list[ArticleRead], str | None]:
    """A page of articles in creation order (keyset, so a page never repeats or skips a row)."""
    query = select(Article).order_by(Article.created_at, Article.id).limit(limit + 1)
    if status is not None:
        query = query.where(Article.status == status)
    if cursor is not None:
        after, after_id = decode_time_cursor(cursor)
        query = query.where((Article.created_at > after) | ((Article.created_at == after) & (Article.id > after_id)))
    articles = list((await session.scalars(query)).all())
    page = articles[:limit]
    items = [article_read(article, await shown_version(session, article)) for article in page]
    more = len(articles) > limit
    return items, encode_cursor(page[-1].created_at.isoformat(), str(page[-1].id)) if more else None


async def shown_version(session: AsyncSession, article: Article) -> ArticleVersion:
    """The version readers see: the latest published one, else the latest."""
    return await _version(session, article.id, article.published_version or article.current_version)


def article_read(article: Article, version: ArticleVersion) -> ArticleRead:
    return ArticleRead(
        id=article.id,
        status=article.status,
        version=version.version,
        latest_version=article.current_version,
        published_version=article.published_version,
        title=version.title,
        body=version.body,
        tags=list(version.tags),
        products=list(version.products),
        locale=version.locale,
        external_id=article.external_id,
        source_ticket_id=article.source_ticket_id,
        created_at=article.created_at,
        updated_at=article.updated_at,
    )


async def _get_for_update(session: AsyncSession, article_id: uuid.UUID) -> Article:
    # Row lock on PostgreSQL: two editors naming the same version cannot both win.
    article = await session.scalar(select(Article).where(Article.id == article_id).with_for_update())
    if article is None:
        raise NotFound("Article", article_id)
    return article


async def _version(session: AsyncSession, article_id: uuid.UUID, number: int) -> ArticleVersion:
    version = await session.get(ArticleVersion, (article_id, number))
    assert version is not None, f"article {article_id} lacks its version {number}"
    return version


async def _announce(session: AsyncSession, article: Article, version: ArticleVersion) -> None:
    events: list[Event] = [
        ArticleUpdated(
            article_id=article.id,
            article_version=version.version,
            title=version.title,
            status=version.status,
            updated_at=version.created_at,
        )
    ]
    if version.status == "published":
        events.append(
            ArticlePublished(
                article_id=article.id,
                article_version=version.version,
                title=version.title,
                tags=list(version.tags),
                products=list(version.products),
                locale=version.locale,
                published_at=version.created_at,
            )
        )
    elif version.status == "archived":
        events.append(
            ArticleArchived(article_id=article.id, article_version=version.version, archived_at=version.created_at)
        )
    await add_events(session, *events)
    await record_change(session, entity="article", entity_id=article.id)


async def _refuse_taken_external_id(session: AsyncSession, external_id: str) -> None:
    """An external id names one article; a second create must not end in the unique index (a 500). Two
    creates racing: the loser's write conflicts at commit and runs again (run_once), and lands here."""
    taken = await session.scalar(select(Article.id).where(Article.external_id == external_id))
    if taken is not None:
        raise Conflict(
            "external-id-taken",
            f"Article {taken} has external_id {external_id!r}: edit it (PATCH), or import to update it.",
            article_id=str(taken),
        )
