"""Ticket events in: the RT ticket opens, follows its owner and status, and hears what happened."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.outbound import tickets
from services.helpdesk.settings import HelpdeskSettings
from shared.events.catalogue import (
    SlaBreached,
    TicketAssigned,
    TicketOpened,
    TicketPriorityChanged,
    TicketQueued,
    TicketReopened,
    TicketResolved,
    TicketTransferred,
)


async def on_ticket_opened(event: TicketOpened, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await tickets.ticket_opened(session=session, event=event, now=datetime.now(UTC))


async def on_ticket_assigned(event: TicketAssigned, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await tickets.ticket_assigned(session=session, event=event, now=datetime.now(UTC))


async def on_ticket_queued(event: TicketQueued, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await tickets.ticket_queued(session=session, event=event, now=datetime.now(UTC))


async def on_ticket_transferred(event: TicketTransferred, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await tickets.ticket_transferred(session=session, event=event, now=datetime.now(UTC))


async def on_ticket_resolved(event: TicketResolved, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await tickets.ticket_resolved(session=session, event=event, now=datetime.now(UTC))


async def on_ticket_reopened(event: TicketReopened, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await tickets.ticket_reopened(session=session, event=event, now=datetime.now(UTC))


async def on_priority_changed(
    event: TicketPriorityChanged, session: AsyncSession, *, settings: HelpdeskSettings
) -> None:
    await tickets.priority_changed(session=session, event=event, now=datetime.now(UTC))


async def on_sla_breached(event: SlaBreached, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await tickets.sla_breached(session=session, event=event, now=datetime.now(UTC))
