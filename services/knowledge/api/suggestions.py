"""/v1/tickets/{id}/suggestions: what the knowledge base offers the agent for a ticket."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.knowledge.suggestions import service as suggestion_service
from services.knowledge.suggestions.schemas import TicketSuggestionRead
from shared.web.app import SessionDep

router = APIRouter(prefix="/v1/tickets", tags=["suggestions"])


@router.get(
    "/{ticket_id}/suggestions",
    response_model=TicketSuggestionRead,
    summary="Articles suggested for a ticket (404 until its TicketOpened event has arrived)",
)
async def get_suggestions(ticket_id: uuid.UUID, session: SessionDep) -> TicketSuggestionRead:
    suggestion = await suggestion_service.get_suggestion(session=session, ticket_id=ticket_id)
    return TicketSuggestionRead.model_validate(suggestion)
