"""The helpdesk bridge's consumer group: the explicit event -> handler table.

Each handler stages the event's effects on RT tickets in the bridge's database (inside the inbox
transaction); nothing leaves the process here. Handlers take the settings as a keyword; bootstrap binds
them (tests call the handlers with settings of their own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk import erasure
from services.helpdesk.consumers import feedback, knowledge, problems, resolutions, tickets
from services.helpdesk.settings import HelpdeskSettings
from shared.events.catalogue import (
    AccountOwnerChanged,
    ApprovalDecided,
    ApprovalRequested,
    CustomerErased,
    Event,
    FeedbackDecided,
    KnowledgeSuggested,
    KnownIssueUpdated,
    ProblemDetected,
    ProblemEscalated,
    ProblemResolved,
    ProblemUpdated,
    ProblemUpdatedV2,
    SlaBreached,
    TicketAssigned,
    TicketOpened,
    TicketPriorityChanged,
    TicketQueued,
    TicketReopened,
    TicketResolved,
    TicketTransferred,
)
from shared.web.auth import ACCESS_HANDLERS

SettingsHandler = Callable[..., Awaitable[None]]

HANDLERS: dict[type[Event], SettingsHandler] = {
    TicketOpened: tickets.on_ticket_opened,
    TicketAssigned: tickets.on_ticket_assigned,
    TicketQueued: tickets.on_ticket_queued,
    TicketTransferred: tickets.on_ticket_transferred,
    TicketResolved: tickets.on_ticket_resolved,
    TicketReopened: tickets.on_ticket_reopened,
    TicketPriorityChanged: tickets.on_priority_changed,
    SlaBreached: tickets.on_sla_breached,
    KnowledgeSuggested: knowledge.on_knowledge_suggested,
    KnownIssueUpdated: knowledge.on_known_issue_updated,
    ProblemDetected: problems.on_problem_detected,
    ProblemUpdated: problems.on_problem_updated_v1,
    ProblemUpdatedV2: problems.on_problem_updated,
    ProblemEscalated: problems.on_problem_escalated,
    ProblemResolved: problems.on_problem_resolved,
    ApprovalRequested: resolutions.on_approval_requested,
    ApprovalDecided: resolutions.on_approval_decided,
    AccountOwnerChanged: resolutions.on_account_owner_changed,
    CustomerErased: erasure.on_customer_erased,
    FeedbackDecided: feedback.on_feedback_decided,
}


def bind(settings: HelpdeskSettings) -> dict[type[Event], Callable[[Any, AsyncSession], Awaitable[None]]]:
    """The table with this process's settings handed to every handler."""

    def bound(handler: SettingsHandler) -> Callable[[Any, AsyncSession], Awaitable[None]]:
        async def handle(event: Any, session: AsyncSession) -> None:
            await handler(event, session, settings=settings)

        return handle

    # API keys issued by the router are copied here too, so one key works on every service.
    table = {event: bound(handler) for event, handler in HANDLERS.items()}
    return {**ACCESS_HANDLERS, **erasure.skipping_erased_customers(table)}
