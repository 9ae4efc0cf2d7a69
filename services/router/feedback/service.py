"""Feedback heard at first contact: recognised by its intent or marked by an agent, acknowledged quoting the
customer, resolved, and handed to the notifier (FeedbackReceived) to reach the owner."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.router.access.tickets import TicketAction, TicketActor, ticket_to_act_on
from services.router.customers.models import Customer
from services.router.feedback.acknowledgement import acknowledgement
from services.router.feedback.models import FeedbackTicket
from services.router.history import service as history
from services.router.metrics import RESOLVED
from services.router.routing import engine
from services.router.settings import RouterSettings
from services.router.tickets import lifecycle
from services.router.tickets.life import RESOLVABLE_STATUSES, Trigger, ensure_allowed
from services.router.tickets.models import Ticket, TicketStatusChange
from shared.errors import Conflict, NotFound
from shared.events.catalogue import (
    FeedbackKind,
    FeedbackReceived,
    TicketMarkedFeedback,
    TicketResolved,
    TicketStatusChanged,
)
from shared.messaging.outbox import add_events

ROUTER_ACTOR = "router:feedback"
# The ticket attribute that says a ticket is feedback: the notifier keeps such tickets out of problem
# detection (feedback and faults are clustered apart) and the helpdesk sees why it was resolved at once.
ATTRIBUTE = "feedback"
MAX_TAGS = 20
DECISION = engine.Decision(
    rule="feedback",
    agent_id=None,
    explanation="feedback (its intent is configured as feedback): acknowledged quoting the customer and resolved",
    candidates=(),
)


def kind_of(*, intent: str | None, settings: RouterSettings) -> FeedbackKind | None:
    """The kind of feedback a ticket of this intent is, or None when the intent is a fault to fix."""
    return settings.feedback_intents.get(intent) if intent else None


def mark_at_open(ticket: Ticket, kind: FeedbackKind) -> None:
    """Say in the ticket itself, before TicketOpened is written, that it is feedback."""
    ticket.attributes = {**ticket.attributes, ATTRIBUTE: kind}


async def receive_at_open(
    *, session: AsyncSession, ticket: Ticket, kind: FeedbackKind, customer_name: str | None, now: datetime
) -> list[object]:
    """Acknowledge and resolve a ticket recognised as feedback as it is opened (no agent is taken from the
    queue for it); returns the rows to write with the ticket, after it (shared/inserts.py)."""
    ensure_allowed("open", "resolved", Trigger.RESOLUTION)
    text = acknowledgement(
        kind=kind, subject=ticket.subject, description=ticket.description, customer_name=customer_name
    )
    ticket.status, ticket.status_changed_at, ticket.updated_at = "resolved", now, now
    ticket.resolution_type, ticket.resolved_at, ticket.first_responded_at = "answer", now, now
    record = _record(ticket, kind=kind, recognised_by="intent", agent_id=None, text=text, actor=ROUTER_ACTOR, now=now)
    change = TicketStatusChange(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        from_status="open",
        to_status="resolved",
        trigger=Trigger.RESOLUTION.value,
        reason="feedback acknowledged",
        agent_id=None,
        actor=ROUTER_ACTOR,
        changed_at=now,
    )
    resolved = history.entry(
        customer_id=ticket.customer_id,
        kind="ticket.resolved",
        ref_id=ticket.id,
        ticket_id=ticket.id,
        summary=f"feedback acknowledged: {text}",
        occurred_at=now,
        actor=ROUTER_ACTOR,
    )
    session.info.setdefault(RESOLVED, []).append((ticket.channel, ticket.intent or "unknown", True))
    await add_events(
        session,
        TicketStatusChanged(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            previous="open",
            status="resolved",
            trigger=Trigger.RESOLUTION.value,
            reason="feedback acknowledged",
            agent_id=None,
            first_response_due_at=ticket.first_response_due_at,
            changed_at=now,
        ),
        TicketResolved(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            agent_id=None,
            resolution_type="answer",
            intent=ticket.intent,
            resolution_note=text,
            first_contact=True,
            resolved_at=now,
        ),
        _received(ticket, record, customer_name=customer_name),
    )
    return [change, record, resolved]


async def mark_feedback(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    kind: FeedbackKind,
    actor: TicketActor,
    now: datetime,
) -> tuple[FeedbackTicket, Ticket]:
    """An agent says this ticket is feedback: acknowledged in the customer's words and resolved, as an answer
    by that agent (first contact if it was never transferred)."""
    ticket = await ticket_to_act_on(session=session, ticket_id=ticket_id, actor=actor, action=TicketAction.RESOLVE)
    if await session.get(FeedbackTicket, ticket.id) is not None:
        raise Conflict("already-feedback", "the ticket was acknowledged as feedback already", rule="already-feedback")
    if ticket.status not in RESOLVABLE_STATUSES:
        raise Conflict("ticket-not-open", f"the ticket is {ticket.status}", rule="ticket-not-open")
    customer = await session.get(Customer, ticket.customer_id)
    customer_name = customer.display_name if customer is not None else None
    text = acknowledgement(
        kind=kind, subject=ticket.subject, description=ticket.description, customer_name=customer_name
    )
    record = _record(
        ticket, kind=kind, recognised_by="agent", agent_id=actor.agent, text=text, actor=actor.key_id, now=now
    )
    session.add(record)
    ticket.attributes = {**ticket.attributes, ATTRIBUTE: kind}
    await lifecycle.resolve_ticket(
        session=session,
        ticket=ticket,
        resolution_type="answer",
        agent_id=actor.agent,
        note=text,
        article_ids=[],
        ledger_summary=f"feedback acknowledged: {text}",
        ledger_ref=None,
        actor=actor.key_id,
        now=now,
    )
    await add_events(
        session,
        TicketMarkedFeedback(
            ticket_id=ticket.id, customer_id=ticket.customer_id, agent_id=actor.agent, kind=kind, marked_at=now
        ),
        _received(ticket, record, customer_name=customer_name),
    )
    return record, ticket


async def get_feedback(*, session: AsyncSession, ticket_id: uuid.UUID) -> FeedbackTicket:
    """How a ticket was heard as feedback, or a 404 problem when it is not feedback."""
    record = await session.get(FeedbackTicket, ticket_id)
    if record is None:
        raise NotFound("Feedback of ticket", ticket_id)
    return record


def _record(
    ticket: Ticket,
    *,
    kind: FeedbackKind,
    recognised_by: str,
    agent_id: uuid.UUID | None,
    text: str,
    actor: str,
    now: datetime,
) -> FeedbackTicket:
    return FeedbackTicket(
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        kind=kind,
        recognised_by=recognised_by,
        intent=ticket.intent,
        agent_id=agent_id,
        acknowledgement=text,
        actor=actor,
        received_at=now,
    )


def _received(ticket: Ticket, record: FeedbackTicket, *, customer_name: str | None) -> FeedbackReceived:
    attributes: dict[str, Any] = ticket.attributes or {}
    product = attributes.get("product")
    tags = attributes.get("tags")
    return FeedbackReceived(
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        customer_name=customer_name[:200] if customer_name else None,
        channel=ticket.channel,
        kind=record.kind,
        recognised_by=record.recognised_by,
        subject=ticket.subject,
        description=ticket.description,
        intent=ticket.intent,
        product=str(product)[:100] if product is not None else None,
        tags=[str(tag)[:100] for tag in tags[:MAX_TAGS]] if isinstance(tags, list) else [],
        acknowledgement=record.acknowledgement,
        received_at=record.received_at,
    )
