"""Feedback events in: a voice is clustered; a ticket that is feedback stays out of (or leaves) problem
detection."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.feedback import questions, withdrawal
from services.notifier.feedback import service as feedback_service
from services.notifier.settings import NotifierSettings
from shared.events.catalogue import FeedbackReceived, TicketOpened, TicketResolved
from shared.messaging.inbox import EventHandler

# Set by the router on a ticket it heard as feedback when it was opened (services/router/feedback).
FEEDBACK_ATTRIBUTE = "feedback"


async def on_feedback_received(event: FeedbackReceived, session: AsyncSession, *, settings: NotifierSettings) -> None:
    await feedback_service.receive_feedback(session=session, event=event, settings=settings)
    # A ticket an agent marked as feedback was opened as a fault: its report leaves problem detection. Last,
    # so the detection lock it may take is held from here to the commit, not while the voice is clustered.
    await withdrawal.withdraw_report(session=session, ticket_id=event.ticket_id, settings=settings)


def unless_feedback(handler: EventHandler) -> EventHandler:
    """The TicketOpened handler for faults only: feedback arrives as FeedbackReceived and is clustered apart."""

    async def handle(event: TicketOpened, session: AsyncSession) -> None:
        if event.attributes.get(FEEDBACK_ATTRIBUTE):
            return
        await handler(event, session)

    return handle


def and_ask(handler: EventHandler, *, settings: NotifierSettings) -> EventHandler:
    """The TicketResolved handler, then the one question about the ticket (if it may be asked)."""

    async def handle(event: TicketResolved, session: AsyncSession) -> None:
        await handler(event, session)
        await questions.ask_once(session=session, event=event, settings=settings)

    return handle
