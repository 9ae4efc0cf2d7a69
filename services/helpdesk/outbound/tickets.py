"""firstcall -> RT for ticket events: the RT ticket opens, follows its owner and status, and is told why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.effects import service as effects
from services.helpdesk.inbound.fields import RESOLUTION_FIELDS
from services.helpdesk.links import service as links
from services.helpdesk.outbound import messages, planning
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


async def ticket_opened(*, session: AsyncSession, event: TicketOpened, now: datetime) -> None:
    """A new firstcall ticket becomes an RT ticket (in the queue of its intent, if one is mapped)."""
    await links.open_link(session=session, ticket_id=event.ticket_id, customer_id=event.customer_id, now=now)
    payload = {
        "customer_id": str(event.customer_id),
        "customer_name": event.customer_name,
        "subject": event.subject,
        "description": event.description,
        "channel": event.channel,
        "priority": event.priority,
        "intent": event.intent,
    }
    effects.record(
        session=session,
        ticket_id=event.ticket_id,
        kind=planning.CREATE,
        payload=payload,
        cause=planning.cause_of(event),
        decided_at=event.opened_at,
        now=now,
    )


async def ticket_assigned(*, session: AsyncSession, event: TicketAssigned, now: datetime) -> None:
    """The RT owner follows the assignment, and the agent gets their context as a comment."""
    link = await links.ticket_link(session=session, ticket_id=event.ticket_id)
    if link is None:
        return
    cause = planning.cause_of(event)
    planning.owner(
        session=session, link=link, agent_id=event.agent_id, cause=cause, decided_at=event.assigned_at, now=now
    )
    effects.record(
        session=session,
        ticket_id=link.ticket_id,
        kind=planning.CONTEXT,
        payload={"agent_id": str(event.agent_id), "why": f"{event.rule}: {event.reason}"},
        cause=cause,
        decided_at=event.assigned_at,
        now=now,
    )
    link.context_posted = True


async def ticket_queued(*, session: AsyncSession, event: TicketQueued, now: datetime) -> None:
    """Nobody owns the RT ticket while it waits in firstcall's queue."""
    link = await links.ticket_link(session=session, ticket_id=event.ticket_id)
    if link is None:
        return
    cause = planning.cause_of(event)
    planning.owner(session=session, link=link, agent_id=None, cause=cause, decided_at=event.queued_at, now=now)
    planning.comment(
        session=session,
        ticket_id=link.ticket_id,
        content=messages.queued(event),
        cause=cause,
        decided_at=event.queued_at,
        now=now,
    )


async def ticket_transferred(*, session: AsyncSession, event: TicketTransferred, now: datetime) -> None:
    """Said in RT; the new owner follows from the assignment that comes next."""
    await planning.comment_on_ticket(
        session=session,
        ticket_id=event.ticket_id,
        content=messages.transferred(event),
        cause=planning.cause_of(event),
        decided_at=event.transferred_at,
        now=now,
    )


async def ticket_resolved(*, session: AsyncSession, event: TicketResolved, now: datetime) -> None:
    """RT shows the outcome and the ticket is resolved there too."""
    link = await links.ticket_link(session=session, ticket_id=event.ticket_id)
    if link is None:
        return
    link.open, link.updated_at = False, now
    cause = planning.cause_of(event)
    planning.comment(
        session=session,
        ticket_id=link.ticket_id,
        content=messages.resolved(event),
        cause=cause,
        decided_at=event.resolved_at,
        now=now,
        fields={"resolution": event.resolution_type},
    )
    planning.status(session=session, link=link, value="resolved", cause=cause, decided_at=event.resolved_at, now=now)


async def ticket_reopened(*, session: AsyncSession, event: TicketReopened, now: datetime) -> None:
    link = await links.ticket_link(session=session, ticket_id=event.ticket_id)
    if link is None:
        return
    link.open, link.updated_at = True, now
    cause = planning.cause_of(event)
    planning.status(session=session, link=link, value="open", cause=cause, decided_at=event.reopened_at, now=now)
    # A new attempt starts from empty resolution fields (a stale amount must not be submitted again).
    planning.comment(
        session=session,
        ticket_id=link.ticket_id,
        content=messages.reopened(event),
        cause=cause,
        decided_at=event.reopened_at,
        now=now,
        fields=dict.fromkeys(RESOLUTION_FIELDS),
    )


async def priority_changed(*, session: AsyncSession, event: TicketPriorityChanged, now: datetime) -> None:
    await planning.comment_on_ticket(
        session=session,
        ticket_id=event.ticket_id,
        content=messages.priority(event),
        cause=planning.cause_of(event),
        decided_at=event.changed_at,
        now=now,
    )


async def sla_breached(*, session: AsyncSession, event: SlaBreached, now: datetime) -> None:
    await planning.comment_on_ticket(
        session=session,
        ticket_id=event.ticket_id,
        content=messages.sla_breached(event),
        cause=planning.cause_of(event),
        decided_at=event.breached_at,
        now=now,
    )
