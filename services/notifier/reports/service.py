"""A customer's report arriving: indexed, compared with recent reports, and placed in its cluster."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import service as customer_service
from services.notifier.detection import service as detection_service
from services.notifier.detection.service import DetectionConfig
from services.notifier.problems import service as problem_service
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from shared import heap
from shared.errors import NotFound
from shared.events.catalogue import TicketOpened, TicketResolved


async def receive_report(*, session: AsyncSession, event: TicketOpened, settings: NotifierSettings) -> Report:
    """Index a newly opened ticket and find where it belongs, before any other report is placed."""
    config = detection_service.DetectionConfig.from_settings(settings)
    # Read (encoded, analysed) before the lock, not under it: the detection lock serialises the intake of
    # every replica, so it must cover database work only (MPNet takes 35-65 ms of CPU a report).
    reading = await detection_service.understand(config=config, subject=event.subject, description=event.description)
    await customer_service.note_customer(session=session, customer_id=event.customer_id, name=event.customer_name)
    # The garbage collector's runs wait until the lock's work is done (shared/heap.py): a pause here would
    # hold up every replica's intake.
    with heap.collector_paused():
        detected = await detect(session=session, event=event, reading=reading, config=config)
        if detected.new:
            await problem_service.place_report(
                session=session, report=detected.report, matches=detected.matches, settings=settings
            )
    return detected.report


@dataclass(frozen=True)
class Detected:
    report: Report
    matches: list[detection_service.Match]
    new: bool  # False: the ticket's report was received before (under another event id) and is as it was


async def detect(
    *, session: AsyncSession, event: TicketOpened, reading: detection_service.Reading, config: DetectionConfig
) -> Detected:
    """The intake's part under the detection lock before clustering: the lock (with the reads that go with
    it), the report recorded and indexed, its neighbours found. The lock is held until the caller's
    transaction ends (bench/notifier_scale.py times this function)."""
    locked = await detection_service.lock_and_read(
        session=session, ticket_id=event.ticket_id, reading=reading, config=config
    )
    if locked.recorded:
        existing = await session.get(Report, event.ticket_id)
        assert existing is not None, "a report is never deleted (prune_index drops its vectors only)"
        return Detected(existing, [], new=False)
    report = await record_report(session=session, event=event)
    vector = await detection_service.index_report(
        session=session, report=report, reading=reading, config=config, locked=locked
    )
    matches = await detection_service.neighbours(session=session, report=report, vector=vector, config=config)
    return Detected(report, matches, new=True)


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
