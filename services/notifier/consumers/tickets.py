"""Ticket events in: a new report is indexed and clustered; a resolved ticket is noted; a transfer is counted."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.desktop import fanout
from services.notifier.desktop.notices import notice_of
from services.notifier.detection.embedding import MeaningEncoder
from services.notifier.feedback.intake import FEEDBACK_ATTRIBUTE
from services.notifier.insights import transfers
from services.notifier.reports import service as report_service
from services.notifier.settings import NotifierSettings
from shared.events.catalogue import TicketOpened, TicketResolved, TicketTransferred, event_class
from shared.events.envelope import CloudEvent


async def on_ticket_opened(event: TicketOpened, session: AsyncSession, *, settings: NotifierSettings) -> None:
    await report_service.receive_report(session=session, event=event, settings=settings)


async def on_ticket_resolved(event: TicketResolved, session: AsyncSession) -> None:
    await report_service.mark_resolved(session=session, event=event)


async def on_ticket_transferred(event: TicketTransferred, session: AsyncSession) -> None:
    # Both in the one transaction the inbox records the event in: the desktops hear it, insight counts it.
    await fanout.stage_deliveries(session=session, notice=notice_of(event))
    await transfers.record_transfer(session=session, event=event)


async def prepare_opened(envelopes: Sequence[CloudEvent], *, settings: NotifierSettings) -> None:
    """The sentence encoding of the TicketOpened events among the records a fetch brought, in one batch
    (shared/bus/batching.py): each one's handling then finds its vector ready. Everything else about a
    report, the inbox included, is still done record by record in its own transaction."""
    encoder = MeaningEncoder.named(settings.detection_encoder)
    if encoder is None:
        return
    reports: list[tuple[str, str]] = []
    for envelope in envelopes:
        if event_class(envelope) is not TicketOpened:
            continue
        try:
            event = TicketOpened.model_validate(envelope.data)
        except ValidationError:
            continue  # the dispatcher dead-letters it when it comes
        if event.attributes.get(FEEDBACK_ATTRIBUTE):
            continue  # never a report (feedback_intake.unless_feedback): its vector would wait for nothing
        reports.append((event.subject, event.description))
    if len(reports) > 1:
        await encoder.prepare_reports(reports)
