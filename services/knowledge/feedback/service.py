"""Feedback: which article answered which words, so similar questions find it sooner next time."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.articles.models import Article
from services.knowledge.feedback.models import ArticleFeedback
from services.knowledge.feedback.schemas import FeedbackCreate
from services.knowledge.search.changes import record_change
from services.knowledge.suggestions.models import TicketSuggestion
from shared.errors import NotFound
from shared.events.catalogue import TicketResolved

log = logging.getLogger(__name__)


async def record_feedback(*, session: AsyncSession, article_id: uuid.UUID, request: FeedbackCreate) -> ArticleFeedback:
    """An agent's verdict on an article for a query or ticket (the ticket's words stand in for a query)."""
    if await session.get(Article, article_id) is None:
        raise NotFound("Article", article_id)
    query = request.query
    if query is None and request.ticket_id is not None:
        query = await _ticket_words(session, request.ticket_id)
    return await _store(
        session,
        article_id=article_id,
        outcome=request.outcome,
        query=query,
        ticket_id=request.ticket_id,
        source="agent",
        comment=request.comment,
    )


async def feedback_from_resolution(*, session: AsyncSession, event: TicketResolved) -> list[ArticleFeedback]:
    """Every article a resolved ticket names answered that ticket's words."""
    if not event.article_ids:
        return []
    known = set(await session.scalars(select(Article.id).where(Article.id.in_(event.article_ids))))
    query = await _ticket_words(session, event.ticket_id)
    stored = []
    for article_id in dict.fromkeys(event.article_ids):
        if article_id not in known:
            log.warning("ticket %s names unknown article %s; ignored", event.ticket_id, article_id)
            continue
        stored.append(
            await _store(
                session,
                article_id=article_id,
                outcome="resolved",
                query=query,
                ticket_id=event.ticket_id,
                source="ticket",
                comment=None,
            )
        )
    return stored


async def _ticket_words(session: AsyncSession, ticket_id: uuid.UUID) -> str | None:
    ticket = await session.get(TicketSuggestion, ticket_id)
    return ticket.query if ticket is not None else None


async def _store(
    session: AsyncSession,
    *,
    article_id: uuid.UUID,
    outcome: str,
    query: str | None,
    ticket_id: uuid.UUID | None,
    source: str,
    comment: str | None,
) -> ArticleFeedback:
    feedback = ArticleFeedback(
        id=uuid.uuid4(),
        article_id=article_id,
        outcome=outcome,
        query=query,
        ticket_id=ticket_id,
        source=source,
        comment=comment,
        created_at=datetime.now(UTC),
    )
    session.add(feedback)
    await session.flush()
    if query:  # feedback without words still counts for reporting, but cannot teach ranking
        await record_change(session, entity="feedback", entity_id=feedback.id)
    return feedback
