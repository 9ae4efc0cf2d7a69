"""Moving a ticket in its life: the table decides, the move is audited, announced, and keeps the SLA clock.

Every status change in the router calls `move` on a ticket its caller has locked, with the trigger that
causes it; nothing else writes `Ticket.status` after the ticket is opened.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.router.history import service as history
from services.router.tickets.life import Trigger, ensure_allowed
from services.router.tickets.models import Ticket, TicketStatusChange
from shared.events.catalogue import TicketStatus, TicketStatusChanged
from shared.messaging.outbox import add_events

# Moves with no history entry of their own elsewhere (a resolution, a reopen write theirs).
_IN_HISTORY = frozenset({Trigger.STATUS_CHANGE, Trigger.QUIET_PERIOD, Trigger.APPROVAL_WITHDRAWN})


async def move(
    *,
    session: AsyncSession,
    ticket: Ticket,
    to: TicketStatus,
    trigger: Trigger,
    actor: str,
    agent_id: uuid.UUID | None,
    now: datetime,
    reason: str | None = None,
    cancel_reason: str | None = None,
    duplicate_of: uuid.UUID | None = None,
    approval_id: uuid.UUID | None = None,
    slug: str = "ticket-transition-refused",
) -> None:
    """Move the (locked) ticket to `to` if the table lets `trigger` do it; else a 409 naming the rule."""
    previous: TicketStatus = ticket.status  # type: ignore[assignment]
    ensure_allowed(previous, to, trigger, slug=slug)
    keep_the_clock(ticket, previous=previous, to=to, now=now)
    ticket.status, ticket.status_changed_at, ticket.updated_at = to, now, now
    if to == "cancelled":
        ticket.cancel_reason, ticket.duplicate_of_id = cancel_reason, duplicate_of
    session.add(
        TicketStatusChange(
            id=uuid.uuid4(),
            ticket_id=ticket.id,
            from_status=previous,
            to_status=to,
            trigger=trigger.value,
            reason=reason,
            agent_id=agent_id,
            actor=actor,
            changed_at=now,
        )
    )
    if trigger in _IN_HISTORY:
        history.record(
            session=session,
            customer_id=ticket.customer_id,
            kind="ticket.status",
            ref_id=ticket.id,
            ticket_id=ticket.id,
            summary=f"{previous} -> {to}" + (f": {reason}" if reason else ""),
            occurred_at=now,
            actor=actor,
        )
    await add_events(
        session,
        TicketStatusChanged(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            previous=previous,
            status=to,
            trigger=trigger.value,
            reason=reason,
            cancel_reason=cancel_reason if to == "cancelled" else None,
            duplicate_of=duplicate_of if to == "cancelled" else None,
            approval_id=approval_id,
            agent_id=ticket.agent_id,
            first_response_due_at=ticket.first_response_due_at,
            changed_at=now,
        ),
    )


def keep_the_clock(ticket: Ticket, *, previous: TicketStatus, to: TicketStatus, now: datetime) -> None:
    """Waiting for the customer pauses the first-response clock; leaving that wait moves the due time.

    Only a running clock pauses: one already stopped by a first response, or already breached, stays as
    it is. The pauses are kept (`sla_paused_seconds`) so reports can tell the agent's time from the
    customer's.
    """
    if previous == "pending_customer" and ticket.sla_paused_at is not None:
        paused = now - ticket.sla_paused_at
        ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + round(paused.total_seconds())
        if ticket.first_response_due_at is not None:
            ticket.first_response_due_at += paused
        ticket.sla_paused_at = None
    running = ticket.first_responded_at is None and ticket.sla_breached_at is None
    if to == "pending_customer" and running and ticket.first_response_due_at is not None:
        ticket.sla_paused_at = now
