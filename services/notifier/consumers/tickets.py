"""The notifier consumer group: ticket events in, reports indexed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.reports import service as report_service
from shared.events.catalogue import Event, TicketOpened
from shared.messaging.inbox import EventHandler


async def on_ticket_opened(event: TicketOpened, session: AsyncSession) -> None:
    await report_service.record_report(session=session, event=event)


HANDLERS: dict[type[Event], EventHandler] = {TicketOpened: on_ticket_opened}
