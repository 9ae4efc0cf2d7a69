"""Keeping track of the tickets to suggest answers for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.suggestions.models import TicketSuggestion
from shared.errors import NotFound
from shared.events.catalogue import TicketOpened


async def record_ticket(*, session: AsyncSession, event: TicketOpened) -> TicketSuggestion:
    """Remember a newly opened ticket and the text its answers will be searched with."""
    existing = await session.get(TicketSuggestion, event.ticket_id)
    if existing is not None:
        return existing
    suggestion = TicketSuggestion(
        ticket_id=event.ticket_id,
        customer_id=event.customer_id,
        query=f"{event.subject}\n{event.description}".strip(),
        articles=[],
        opened_at=event.opened_at,
        received_at=datetime.now(UTC),
    )
    session.add(suggestion)
    return suggestion


async def get_suggestion(*, session: AsyncSession, ticket_id: uuid.UUID) -> TicketSuggestion:
    """The suggestions for a ticket, or a 404 problem if the ticket has not reached knowledge yet."""
    suggestion = await session.get(TicketSuggestion, ticket_id)
    if suggestion is None:
        raise NotFound("Ticket suggestion", ticket_id)
    return suggestion
