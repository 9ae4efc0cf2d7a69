"""The knowledge consumer group: ticket events in, suggestions out."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.suggestions import service as suggestion_service
from shared.events.catalogue import Event, TicketOpened
from shared.messaging.inbox import EventHandler


async def on_ticket_opened(event: TicketOpened, session: AsyncSession) -> None:
    await suggestion_service.record_ticket(session=session, event=event)


HANDLERS: dict[type[Event], EventHandler] = {TicketOpened: on_ticket_opened}
