"""Indexing customers' reports, the material duplicate detection works on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.reports.models import Report
from shared.errors import NotFound
from shared.events.catalogue import TicketOpened


async def record_report(*, session: AsyncSession, event: TicketOpened) -> Report:
    """Add a newly opened ticket to the reports compared across customers."""
    existing = await session.get(Report, event.ticket_id)
    if existing is not None:
        return existing
    report = Report(
        ticket_id=event.ticket_id,
        customer_id=event.customer_id,
        channel=event.channel,
        text=f"{event.subject}\n{event.description}".strip(),
        opened_at=event.opened_at,
        received_at=datetime.now(UTC),
    )
    session.add(report)
    return report


async def get_report(*, session: AsyncSession, ticket_id: uuid.UUID) -> Report:
    """The report of a ticket, or a 404 problem if its TicketOpened has not arrived yet."""
    report = await session.get(Report, ticket_id)
    if report is None:
        raise NotFound("Report", ticket_id)
    return report
