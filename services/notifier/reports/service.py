"""A customer's report arriving: indexed, compared with recent reports, and placed in its cluster."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import service as customer_service
from services.notifier.detection import service as detection_service
from services.notifier.detection.index import lock_detection
from services.notifier.problems import service as problem_service
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from shared.errors import NotFound
from shared.events.catalogue import TicketOpened, TicketResolved


async def receive_report(*, session: AsyncSession, event: TicketOpened, settings: NotifierSettings) -> Report:
    """Index a newly opened ticket and find where it belongs, before any other report is placed."""
    config = detection_service.DetectionConfig.from_settings(settings)
    # Read (encoded, analysed) before the lock, not under it: the detection lock serialises the intake of
    # every replica, so it must cover database work only (MPNet takes 35-65 ms of CPU a report).
    reading = await detection_service.understand(config=config, subject=event.subject, description=event.description)
    await lock_detection(session)
    existing = await session.get(Report, event.ticket_id)
    if existing is not None:
        return existing
    report = await record_report(session=session, event=event)
    vector = await detection_service.index_report(session=session, report=report, reading=reading, config=config)
    await customer_service.remember_customer(session=session, customer_id=event.customer_id, name=event.customer_name)
    matches = await detection_service.neighbours(session=session, report=report, vector=vector, config=config)
    await problem_service.place_report(session=session, report=report, matches=matches, settings=settings)
    return report


async def record_report(*, session: AsyncSession, event: TicketOpened) -> Report:
    """The report as the customer gave it, added to the session but not flushed: `index_report` writes it
    with its vectors in one INSERT."""
    product = event.attributes.get("product")
    report = Report(
        ticket_id=event.ticket_id,
        customer_id=event.customer_id,
        channel=event.channel,
        subject=event.subject,
        text=f"{event.subject}\n{event.description}".strip(),
        customer_name=event.customer_name,
        intent=event.intent,
        product=str(product)[:100] if product is not None else None,
        opened_at=event.opened_at,
        received_at=datetime.now(UTC),
    )
    session.add(report)
    return report


async def mark_resolved(*, session: AsyncSession, event: TicketResolved) -> None:
    """Note that an agent resolved a member ticket (its customer is still told when the problem is fixed)."""
    report = await session.get(Report, event.ticket_id)
    if report is not None:
        report.resolved_at = event.resolved_at


async def get_report(*, session: AsyncSession, ticket_id: uuid.UUID) -> Report:
    """The report of a ticket, or a 404 problem if its TicketOpened has not arrived yet."""
    report = await session.get(Report, ticket_id)
    if report is None:
        raise NotFound("Report", ticket_id)
    return report
