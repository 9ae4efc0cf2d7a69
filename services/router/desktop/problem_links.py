"""A problem found on an agent's open ticket, told to the agent: TicketProblemLinked.

The router learns which tickets belong to a problem from the notifier's events (consumers/events.py keeps
them for the context); nothing of it reached the router's outbox, so no desktop heard of it. These
handlers run the router's own problem handlers, then, in the same transaction (so once per event, through
the inbox), add a TicketProblemLinked for each open, assigned ticket the event brought into a problem.

The summary is one customer's words told to other customers' agents, on `firstcall.tickets` for 7 days:
while the router seals, it is sealed with its author's key (`seal_text`, decision 0031), so erasing that
author makes every copy unreadable; an erased or unknown author's summary is ERASED_TEXT.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.data_keys.service import CustomerSealer, data_key
from services.router.tickets.life import UNFINISHED_STATUSES
from services.router.tickets.models import Ticket
from shared.db import one_of
from shared.events.catalogue import Event, ProblemDetected, ProblemEscalated, ProblemUpdatedV2
from shared.events.desktop import TicketProblemLinked
from shared.events.problems import ProblemState
from shared.messaging.inbox import EventHandler
from shared.messaging.outbox import add_events, sealer_of
from shared.sealing import ERASED_TEXT, seal_text

FIELD = "problem_summary"
SUMMARY_CHARS = 1000  # TicketProblemLinked.problem_summary's max_length
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
    if not rows:
        return 0
    summary = await told_summary(session, problem.summary_text, problem.summary_author_id)
    events = [
        TicketProblemLinked(
            ticket_id=row.id,
            customer_id=row.customer_id,
            agent_id=row.agent_id,
            problem_id=row.problem_id,  # the survivor, when ops merged the event's problem away
            change=change,
            severity=problem.severity,
            problem_summary=summary,
            customer_count=problem.customer_count,
            linked_at=at,
        )
        for row in rows
    ]
    await add_events(session, *events)
    return len(events)


async def told_summary(session: AsyncSession, text: str, author: uuid.UUID | None) -> str:
    """A problem's summary as TicketProblemLinked carries it: sealed with its author's key while the router
    seals (a key is made if the author has none yet, so that erasing them still erases this copy),
    ERASED_TEXT once they are erased or when whose words it is is not known; in clear otherwise."""
    sealer = sealer_of(session)
    if not isinstance(sealer, CustomerSealer) or not text or text == ERASED_TEXT:
        return text[:SUMMARY_CHARS]
    if author is None:
        return ERASED_TEXT
    key = await data_key(session=session, customer_id=author, kek=sealer.kek)
    return ERASED_TEXT if key is None else sealed_within(key, author, text, SUMMARY_CHARS)


def sealed_within(key: bytes, author: uuid.UUID, text: str, limit: int) -> str:
    """The text sealed for its author, cut so that the sealed value fits the field's `limit` characters:
    sealing adds the author, a nonce and a tag and grows the JSON by a third (base64)."""
    text = text[:limit]
    while True:
        sealed = seal_text(key, str(author), FIELD, text)
        excess = len(sealed) - limit
        if excess <= 0:
            return sealed
        # An escaped character takes at most 6 bytes of JSON, 8 of base64: this never cuts too much.
        text = text[: len(text) - max(1, excess // 8)]
