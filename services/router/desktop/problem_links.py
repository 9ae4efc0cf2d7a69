"""A problem found on an agent's open ticket, told to the agent: TicketProblemLinked.

The router learns which tickets belong to a problem from the notifier's events (consumers/events.py keeps
them for the context); nothing of it reached the router's outbox, so no desktop heard of it. These
handlers run the router's own problem handlers, then, in the same transaction (so once per event, through
the inbox), add a TicketProblemLinked for each open, assigned ticket the event brought into a problem.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.tickets.life import UNFINISHED_STATUSES
from services.router.tickets.models import Ticket
from shared.db import one_of
from shared.events.catalogue import Event, ProblemDetected, ProblemEscalated, ProblemUpdatedV2
from shared.events.desktop import TicketProblemLinked
from shared.events.problems import ProblemState
from shared.messaging.inbox import EventHandler
from shared.messaging.outbox import add_events

Change = Literal["detected", "joined", "merged", "escalated"]
# Which tickets an event brings into its problem, how, and when.
Linked = Callable[[Any], tuple[Sequence[uuid.UUID], Change, datetime]]

LINKS: dict[type[Event], Linked] = {
    ProblemDetected: lambda e: (e.ticket_ids, "detected", e.detected_at),
    ProblemUpdatedV2: lambda e: (
        e.added_ticket_ids if e.change != "split" else [],
        "merged" if e.change == "merged" else "joined",
        e.updated_at,
    ),
    ProblemEscalated: lambda e: (e.ticket_ids, "escalated", e.escalated_at),
}


def announcing_problem_links(handlers: Mapping[type[Event], EventHandler]) -> dict[type[Event], EventHandler]:
    """The router's handler table, its problem handlers also telling the agents of the tickets concerned."""
    return {cls: _announcing(handler, LINKS[cls]) if cls in LINKS else handler for cls, handler in handlers.items()}


def _announcing(handler: EventHandler, linked: Linked) -> EventHandler:
    async def handle(event: Any, session: AsyncSession) -> None:
        await handler(event, session)
        ticket_ids, change, at = linked(event)
        await announce_links(session=session, problem=event, ticket_ids=ticket_ids, change=change, at=at)

    return handle


async def announce_links(
    *, session: AsyncSession, problem: ProblemState, ticket_ids: Sequence[uuid.UUID], change: Change, at: datetime
) -> int:
    """A TicketProblemLinked for each of the tickets that is open, assigned and now in a problem."""
    if not ticket_ids:
        return 0
    sqlite = session.bind is not None and session.bind.dialect.name == "sqlite"
    rows = (
        await session.execute(
            select(Ticket.id, Ticket.customer_id, Ticket.agent_id, Ticket.problem_id)
            .where(
                one_of(Ticket.id, list(ticket_ids), Uuid(), sqlite=sqlite),
                Ticket.status.in_(UNFINISHED_STATUSES),
                Ticket.agent_id.is_not(None),
                Ticket.problem_id.is_not(None),
            )
            .order_by(Ticket.id)
        )
    ).all()
    events = [
        TicketProblemLinked(
            ticket_id=row.id,
            customer_id=row.customer_id,
            agent_id=row.agent_id,
            problem_id=row.problem_id,  # the survivor, when ops merged the event's problem away
            change=change,
            severity=problem.severity,
            problem_summary=problem.summary_text[:1000],
            customer_count=problem.customer_count,
            linked_at=at,
        )
        for row in rows
    ]
    await add_events(session, *events)
    return len(events)
