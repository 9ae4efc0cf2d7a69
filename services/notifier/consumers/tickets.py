"""Ticket events in: a new report is indexed and clustered; a resolved ticket is noted."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.reports import service as report_service
from services.notifier.settings import NotifierSettings
from shared.events.catalogue import TicketOpened, TicketResolved


async def on_ticket_opened(event: TicketOpened, session: AsyncSession, *, settings: NotifierSettings) -> None:
    await report_service.receive_report(session=session, event=event, settings=settings)


async def on_ticket_resolved(event: TicketResolved, session: AsyncSession) -> None:
    await report_service.mark_resolved(session=session, event=event)
