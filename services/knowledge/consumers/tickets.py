"""Ticket events in: suggestions when a ticket opens or changes, learning when it is resolved."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.articles import drafts
from services.knowledge.feedback import service as feedback_service
from services.knowledge.search.replica import SearchReplica
from services.knowledge.suggestions import service as suggestion_service
from shared.events.catalogue import TicketOpened, TicketResolved, TicketUpdated


async def on_ticket_opened(event: TicketOpened, session: AsyncSession, *, replica: SearchReplica) -> None:
    await suggestion_service.record_ticket(session=session, replica=replica, event=event)


async def on_ticket_updated(event: TicketUpdated, session: AsyncSession, *, replica: SearchReplica) -> None:
    await suggestion_service.ticket_changed(session=session, replica=replica, event=event)


async def on_ticket_resolved(event: TicketResolved, session: AsyncSession, *, replica: SearchReplica) -> None:
    await feedback_service.feedback_from_resolution(session=session, event=event)
    await drafts.propose_from_resolution(session=session, event=event)
