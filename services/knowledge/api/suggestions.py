"""/v1/tickets/{id}/suggestions: what the knowledge base offers the agent for a ticket."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.knowledge.api.access import READ
from services.knowledge.known_issues import service as known_issue_service
from services.knowledge.suggestions import service as suggestion_service
from services.knowledge.suggestions.schemas import TicketSuggestionRead
from shared.events.catalogue import SuggestedArticle
from shared.web.app import SessionDep

router = APIRouter(prefix="/v1/tickets", tags=["suggestions"], dependencies=[READ])


@router.get(
    "/{ticket_id:uuid}/suggestions",
    response_model=TicketSuggestionRead,
    summary="Articles and known issue suggested for a ticket (404 until its TicketOpened event has arrived)",
)
async def get_suggestions(ticket_id: uuid.UUID, session: SessionDep) -> TicketSuggestionRead:
    ticket, issue = await suggestion_service.get_suggestion(session=session, ticket_id=ticket_id)
    return TicketSuggestionRead(
        ticket_id=ticket.ticket_id,
        customer_id=ticket.customer_id,
        query=ticket.query,
        articles=[SuggestedArticle.model_validate(article) for article in ticket.articles],
        known_issue=known_issue_service.reference(issue) if issue is not None else None,
        opened_at=ticket.opened_at,
        received_at=ticket.received_at,
        computed_at=ticket.computed_at,
    )
