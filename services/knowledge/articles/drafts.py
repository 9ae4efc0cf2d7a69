"""Knowledge-centred service: a ticket resolved without any article becomes a draft article for review."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.articles import service as article_service
from services.knowledge.articles.models import Article
from services.knowledge.articles.schemas import ArticleCreate, ArticleRead
from services.knowledge.suggestions.models import TicketSuggestion
from shared.events.catalogue import ArticleDraftProposed, TicketResolved
from shared.messaging.outbox import add_events

KCS_TAG = "kcs-draft"


async def propose_from_resolution(*, session: AsyncSession, event: TicketResolved) -> ArticleRead | None:
    """Draft an article from the ticket's words and the agent's note, once per ticket (None: no draft due)."""
    note = (event.resolution_note or "").strip()
    if event.article_ids or not note:
        return None
    if await session.scalar(select(Article.id).where(Article.source_ticket_id == event.ticket_id)) is not None:
        return None  # resolved again after a reopen: the first draft stands
    ticket = await session.get(TicketSuggestion, event.ticket_id)
    subject, _, description = (ticket.query if ticket else "").partition("\n")
    title = subject.strip() or _first_line(note)
    body = f"## Problem\n\n{description.strip() or subject.strip() or 'As reported by the customer.'}\n\n"
    body += f"## Resolution\n\n{note}\n"
    request = ArticleCreate(title=title[:300], body=body[:100_000], tags=[KCS_TAG], status="draft")
    draft = await article_service.create_article(session=session, request=request, source_ticket_id=event.ticket_id)
    await add_events(
        session,
        ArticleDraftProposed(
            article_id=draft.id,
            article_version=draft.version,
            ticket_id=event.ticket_id,
            title=draft.title,
            proposed_at=draft.created_at,
        ),
    )
    return draft


def _first_line(note: str) -> str:
    line = note.splitlines()[0].strip()
    return line if len(line) <= 120 else line[:117].rsplit(" ", 1)[0] + "…"
