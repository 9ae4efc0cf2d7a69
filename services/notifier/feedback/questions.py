"""One question about a resolved ticket: "Was your issue resolved on your first contact with us?"

Asked once per ticket (the row's key and the delivery's dedupe key), through the customer's channel, never
to a customer who opted out, and skipped rather than delayed when the customer's rate limit is reached (a
question late is a question about something they have forgotten). The answer is kept against the ticket,
its agent, intent, team and channel; a "no" on a ticket firstcall counted as resolved at first contact is
`disputed`. Free text goes where it belongs: with a "no" it describes an issue still there, so it enters
duplicate detection as a report; with a "yes" it is something to tell the company, so it enters feedback.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import service as customer_service
from services.notifier.customers.messages import MESSAGE_TYPE
from services.notifier.delivery import service as delivery_service
from services.notifier.desktop import projection
from services.notifier.feedback import service as feedback_service
from services.notifier.feedback.models import FeedbackVoice, TicketQuestion
from services.notifier.reports import service as report_service
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from shared.errors import Conflict, NotFound
from shared.events.catalogue import FeedbackReceived, TicketOpened, TicketResolved

KIND = "question"
QUESTION = "Was your issue resolved on your first contact with us?"
# The ids of the report or voice an answer's free text becomes: one per ticket, whatever the retries.
_FOLLOW_UP = uuid.UUID("0b6f1d2e-52c4-4c57-a0f7-3f9e8d1c2b40")


def dedupe_key(customer_id: uuid.UUID, ticket_id: uuid.UUID) -> str:
    return f"customer:{customer_id}:ticket:{ticket_id}:question"


async def ask_once(*, session: AsyncSession, event: TicketResolved, settings: NotifierSettings) -> bool:
    """Ask the one question about a resolved ticket, if it may be asked; whether it was."""
    if not settings.question_enabled or await session.get(TicketQuestion, event.ticket_id) is not None:
        return False
    report = await session.get(Report, event.ticket_id)
    # Feedback is not asked about (its answer was the acknowledgement), nor a ticket the notifier never saw.
    if report is None or await session.get(FeedbackVoice, event.ticket_id) is not None:
        return False
    contacts = await customer_service.contacts_of(session, [event.customer_id])
    contact = contacts.get(event.customer_id)
    if contact is not None and contact.opted_out:
        return False
    teams = await projection.teams_of(session=session, agent_ids=[event.agent_id] if event.agent_id else [])
    question = TicketQuestion(
        ticket_id=event.ticket_id,
        customer_id=event.customer_id,
        agent_id=event.agent_id,
        team=teams.get(event.agent_id) if event.agent_id else None,
        intent=event.intent,
        channel=report.channel,
        subject=report.subject,
        counted_first_contact=event.first_contact,
        asked_at=event.resolved_at,
        disputed=False,
    )
    session.add(question)
    route = await customer_service.Routes(session).to(contact)
    notification_id = uuid.uuid4()
    name = (contact.name if contact and contact.name else report.customer_name) or None
    payload = {
        "type": MESSAGE_TYPE,
        "notification_id": str(notification_id),
        "kind": KIND,
        "customer_id": str(event.customer_id),
        "customer_name": name,
        "ticket_id": str(event.ticket_id),
        "reply_channel": report.channel,
        "question": QUESTION,
        "answer": f"/v1/questions/{event.ticket_id}/answer",
        "subject": "One question about your request",
        "body": f"{name or 'Hello'},\n\nYou asked us about “{report.subject}”. {QUESTION} "
        "Answer yes or no; if you want to tell us more, add it in your own words.",
    }
    routed = isinstance(route, customer_service.Route)
    await delivery_service.enqueue(
        session=session,
        delivery=delivery_service.NewDelivery(
            id=notification_id,
            dedupe_key=dedupe_key(event.customer_id, event.ticket_id),
            channel=route.channel if isinstance(route, customer_service.Route) else "webhook",
            endpoint=route.endpoint if isinstance(route, customer_service.Route) else "",
            event_type=MESSAGE_TYPE,
            payload=orjson.dumps(payload),
            subscription_id=route.subscription_id if isinstance(route, customer_service.Route) else None,
            customer_id=event.customer_id,
            ticket_id=event.ticket_id,
            notification_kind=KIND,
            reason=None if routed else str(route),
        ),
    )
    return True


async def record_answer(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    resolved: bool,
    text: str | None,
    settings: NotifierSettings,
    now: datetime,
) -> TicketQuestion:
    """Keep the customer's answer (once); a "no" on a first-contact ticket is disputed; free text followed up."""
    question = await session.get(TicketQuestion, ticket_id, with_for_update=True)
    if question is None:
        raise NotFound("Question about ticket", ticket_id)
    if question.answered_at is not None:
        raise Conflict("already-answered", "the customer answered this question already", rule="already-answered")
    question.answered_at, question.resolved_first_contact = now, resolved
    question.answer_text = text
    question.disputed = question.counted_first_contact and not resolved
    if text:
        question.followed_up_as = await _follow_up(session, question, resolved=resolved, text=text, settings=settings)
    return question


async def _follow_up(
    session: AsyncSession, question: TicketQuestion, *, resolved: bool, text: str, settings: NotifierSettings
) -> str:
    follow_up_id = uuid.uuid5(_FOLLOW_UP, str(question.ticket_id))
    report = await session.get(Report, question.ticket_id)
    name = report.customer_name if report is not None else None
    subject = f"About “{question.subject}”"[:300]
    if resolved:
        await feedback_service.receive_feedback(
            session=session,
            event=FeedbackReceived(
                ticket_id=follow_up_id,
                customer_id=question.customer_id,
                customer_name=name,
                channel=question.channel,
                kind="suggestion",
                recognised_by="answer",
                subject=subject,
                description=text,
                intent=question.intent,
                acknowledgement="(an answer to the question after resolution)",
                received_at=question.answered_at or question.asked_at,
            ),
            settings=settings,
        )
        return "feedback"
    await report_service.receive_report(
        session=session,
        event=TicketOpened(
            ticket_id=follow_up_id,
            customer_id=question.customer_id,
            customer_name=name,
            channel=question.channel,
            subject=subject,
            description=text,
            priority="normal",
            opened_at=question.answered_at or question.asked_at,
            intent=question.intent,
        ),
        settings=settings,
    )
    return "report"
