"""The knowledge consumer group's explicit event -> handler table.

Handlers take the search replica as a keyword; bootstrap binds it (the handlers stay plain functions
that tests can call with a replica of their own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.consumers import problems, tickets
from services.knowledge.search.replica import SearchReplica
from shared.events.catalogue import (
    Event,
    ProblemDetected,
    ProblemEscalated,
    ProblemResolved,
    ProblemUpdated,
    ProblemUpdatedV2,
    TicketOpened,
    TicketResolved,
    TicketUpdated,
)
from shared.web.auth import ACCESS_HANDLERS

ReplicaHandler = Callable[..., Awaitable[None]]

HANDLERS: dict[type[Event], ReplicaHandler] = {
    TicketOpened: tickets.on_ticket_opened,
    TicketUpdated: tickets.on_ticket_updated,
    TicketResolved: tickets.on_ticket_resolved,
    ProblemDetected: problems.on_problem_detected,
    ProblemUpdated: problems.on_problem_updated_v1,
    ProblemUpdatedV2: problems.on_problem_updated,
    ProblemEscalated: problems.on_problem_escalated,
    ProblemResolved: problems.on_problem_resolved,
}


def bind(replica: SearchReplica) -> dict[type[Event], Callable[[Any, AsyncSession], Awaitable[None]]]:
    """The table with this process's search replica handed to every handler."""

    def bound(handler: ReplicaHandler) -> Callable[[Any, AsyncSession], Awaitable[None]]:
        async def handle(event: Any, session: AsyncSession) -> None:
            await handler(event, session, replica=replica)

        return handle

    # API keys issued by the router are copied here too, so one key works on every service.
    return {**ACCESS_HANDLERS, **{event: bound(handler) for event, handler in HANDLERS.items()}}
