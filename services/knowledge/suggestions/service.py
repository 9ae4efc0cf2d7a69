"""Suggestions for every ticket: the articles most likely to answer it and any known issue it matches.

Computed when the ticket opens and again when its words or intent change, stored, and published as
KnowledgeSuggested for the router to put in the agent's context. When the notifier groups a ticket
into a problem, the ticket's suggestion gains that problem's known issue and is published again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.known_issues import service as known_issue_service
from services.knowledge.known_issues.models import KnownIssue, KnownIssueTicket
from services.knowledge.search.ranking import Filters
from services.knowledge.search.replica import SearchReplica, SearchState
from services.knowledge.search.service import article_passages
from services.knowledge.search.snippets import Passages, best_passage
from services.knowledge.search.snippets import query_terms as snippet_terms
from services.knowledge.suggestions.models import TicketSuggestion
from shared.errors import NotFound
from shared.events.catalogue import KnowledgeSuggested, SuggestedArticle, TicketOpened, TicketUpdated
from shared.messaging.outbox import add_events

SUGGESTED_ARTICLES = 5
KNOWN_ISSUE_MIN_SIMILARITY = 0.25  # cosine of the ticket's words with the issue's title and symptoms
QUERY_CHARS = 4000  # the start of a long description says what it is about; the rest only costs time


async def record_ticket(*, session: AsyncSession, replica: SearchReplica, event: TicketOpened) -> TicketSuggestion:
    """Remember a newly opened ticket and suggest answers for it at once."""
    # Most tickets are new: one statement says so, with the known issue a problem may have linked it to already.
    seen, linked = await _first_look(session, event.ticket_id)
    ticket = await session.get(TicketSuggestion, event.ticket_id) if seen else None
    if ticket is not None and ticket.computed_at is not None:
        return ticket
    if ticket is None:
        ticket = TicketSuggestion(
            ticket_id=event.ticket_id,
            customer_id=event.customer_id,
            query=ticket_words(event.subject, event.description),
            articles=[],
            opened_at=event.opened_at,
            received_at=datetime.now(UTC),
        )
        session.add(ticket)
        issue = await session.get(KnownIssue, linked) if linked is not None else None
        await _suggest(session, replica, ticket, issue)
        return ticket
    await suggest(session=session, replica=replica, ticket=ticket)
    return ticket


async def ticket_changed(*, session: AsyncSession, replica: SearchReplica, event: TicketUpdated) -> TicketSuggestion:
    """A ticket's words or intent changed: suggest again (a change that touches neither is ignored)."""
    words = ticket_words(event.subject, event.description)
    ticket = await session.get(TicketSuggestion, event.ticket_id)
    if ticket is None:
        ticket = TicketSuggestion(
            ticket_id=event.ticket_id,
            customer_id=event.customer_id,
            query=words,
            articles=[],
            opened_at=event.updated_at,
            received_at=datetime.now(UTC),
        )
        session.add(ticket)
    elif ticket.query == words and "intent" not in event.changed and ticket.computed_at is not None:
        return ticket
    ticket.query = words
    await suggest(session=session, replica=replica, ticket=ticket)
    return ticket


async def suggest(*, session: AsyncSession, replica: SearchReplica, ticket: TicketSuggestion) -> KnowledgeSuggested:
    """Rank articles and match a known issue for the ticket's words; store and publish the result."""
    return await _suggest(session, replica, ticket, await _linked_issue(session, ticket))


async def _suggest(
    session: AsyncSession, replica: SearchReplica, ticket: TicketSuggestion, linked: KnownIssue | None
) -> KnowledgeSuggested:
    state = await replica.catch_up(session)
    query = ticket.query[:QUERY_CHARS]
    ranker, filters = state.ranker, Filters(kind="article")
    terms = ranker.query_terms(query, filters)  # analysed once, for ranking and the known-issue match
    hits, _ = ranker.rank(query, filters, limit=SUGGESTED_ARTICLES, terms=terms)
    passages = await article_passages(session, replica.passages, hits)
    wanted, nothing = snippet_terms(query), Passages((), (), 0)
    articles = [
        SuggestedArticle(
            article_id=hit.entry.id,
            article_version=hit.entry.version,
            title=hit.entry.title,
            snippet=best_passage(passages.get(hit.entry.id, nothing), wanted),
            score=hit.score,
        )
        for hit in hits
    ]
    issue = linked or await _matching_issue(session, state, terms)
    ticket.articles = [article.model_dump(mode="json") for article in articles]
    return await _publish(session, ticket, issue)


async def attach_known_issue(*, session: AsyncSession, ticket_ids: Sequence[uuid.UUID], issue: KnownIssue) -> int:
    """Tickets grouped into a problem learn its known issue; returns how many suggestions changed."""
    linked = set(
        await session.scalars(select(KnownIssueTicket.ticket_id).where(KnownIssueTicket.ticket_id.in_(ticket_ids)))
    )
    # Remembered even for tickets not seen yet: their TicketOpened may come after the problem's event.
    session.add_all(KnownIssueTicket(ticket_id=t, known_issue_id=issue.id) for t in set(ticket_ids) - linked)
    await session.execute(
        update(KnownIssueTicket).where(KnownIssueTicket.ticket_id.in_(linked)).values(known_issue_id=issue.id)
    )
    changed = 0
    for ticket in await session.scalars(select(TicketSuggestion).where(TicketSuggestion.ticket_id.in_(ticket_ids))):
        if (ticket.known_issue or {}).get("known_issue_id") != str(issue.id):
            await _publish(session, ticket, issue)
            changed += 1
    return changed


async def get_suggestion(*, session: AsyncSession, ticket_id: uuid.UUID) -> tuple[TicketSuggestion, KnownIssue | None]:
    """The suggestions for a ticket with its known issue as it stands now, or a 404 problem."""
    ticket = await session.get(TicketSuggestion, ticket_id)
    if ticket is None:
        raise NotFound("Ticket suggestion", ticket_id)
    return ticket, await _linked_issue(session, ticket)


def ticket_words(subject: str, description: str) -> str:
    return f"{subject}\n{description}".strip()


async def _publish(session: AsyncSession, ticket: TicketSuggestion, issue: KnownIssue | None) -> KnowledgeSuggested:
    reference = known_issue_service.reference(issue) if issue is not None else None
    ticket.known_issue = reference.model_dump(mode="json") if reference else None
    ticket.computed_at = datetime.now(UTC)
    event = KnowledgeSuggested(
        ticket_id=ticket.ticket_id,
        articles=[SuggestedArticle.model_validate(article) for article in ticket.articles],
        known_issue=reference,
        computed_at=ticket.computed_at,
    )
    await add_events(session, event)
    return event


async def _first_look(session: AsyncSession, ticket_id: uuid.UUID) -> tuple[bool, uuid.UUID | None]:
    """Whether knowledge has a suggestion row for the ticket, and the known issue linked to it (or None)."""
    seen, linked = (
        await session.execute(
            select(
                exists().where(TicketSuggestion.ticket_id == ticket_id),
                select(KnownIssueTicket.known_issue_id)
                .where(KnownIssueTicket.ticket_id == ticket_id)
                .scalar_subquery(),
            )
        )
    ).one()
    return bool(seen), linked


async def _linked_issue(session: AsyncSession, ticket: TicketSuggestion) -> KnownIssue | None:
    link = await session.get(KnownIssueTicket, ticket.ticket_id)
    if link is not None:
        return await session.get(KnownIssue, link.known_issue_id)
    issue_id = (ticket.known_issue or {}).get("known_issue_id")
    return await session.get(KnownIssue, uuid.UUID(issue_id)) if issue_id else None


async def _matching_issue(session: AsyncSession, state: SearchState, terms: Mapping[str, float]) -> KnownIssue | None:
    index = state.index
    similarity, owners, _ = state.known_issues.similarities(terms, index.document_frequency, max(len(index), 1))
    if not len(similarity) or float(similarity.max()) < KNOWN_ISSUE_MIN_SIMILARITY:
        return None
    best = max(range(len(similarity)), key=lambda row: (float(similarity[row]), str(owners[row])))
    return await session.get(KnownIssue, owners[best])
