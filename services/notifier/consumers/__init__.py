"""The notifier consumer group: the explicit table of event -> handler."""

from __future__ import annotations

from functools import partial

from services.notifier.consumers import customers, desktop, knowledge, tickets
from services.notifier.feedback import intake as feedback_intake
from services.notifier.settings import NotifierSettings
from shared.events.catalogue import (
    AccountOwnerChanged,
    AgentRegistered,
    ApprovalDecided,
    ApprovalRequested,
    ArticlePublished,
    CustomerIdentityLinked,
    CustomerIdentityRemoved,
    CustomerRegistered,
    Event,
    FeedbackReceived,
    KnownIssueUpdated,
    SlaBreached,
    TicketAssigned,
    TicketOpened,
    TicketResolved,
    TicketTransferred,
)
from shared.events.desktop import SlaAtRisk, TicketProblemLinked
from shared.messaging.inbox import EventHandler
from shared.web.auth import ACCESS_HANDLERS


def handlers(settings: NotifierSettings) -> dict[type[Event], EventHandler]:
    """Every event the notifier handles, bound to the settings detection needs."""
    return {
        **ACCESS_HANDLERS,
        # Feedback is clustered apart from problems (services/notifier/feedback): never a report.
        TicketOpened: feedback_intake.unless_feedback(partial(tickets.on_ticket_opened, settings=settings)),
        FeedbackReceived: partial(feedback_intake.on_feedback_received, settings=settings),
        TicketResolved: feedback_intake.and_ask(tickets.on_ticket_resolved, settings=settings),
        KnownIssueUpdated: knowledge.on_known_issue_updated,
        ArticlePublished: knowledge.on_article_published,
        CustomerRegistered: customers.on_customer_registered,
        CustomerIdentityLinked: customers.on_identity_linked,
        CustomerIdentityRemoved: customers.on_identity_removed,
        # What an agent's desktop hears of, for the desktop webhooks (docs/desktop-push.md#webhooks).
        TicketAssigned: desktop.on_desktop_event,
        TicketTransferred: tickets.on_ticket_transferred,  # and counted for insight (services/notifier/insights)
        SlaAtRisk: desktop.on_desktop_event,
        SlaBreached: desktop.on_desktop_event,
        AccountOwnerChanged: desktop.on_desktop_event,
        TicketProblemLinked: desktop.on_desktop_event,
        ApprovalRequested: desktop.on_approval_requested,
        ApprovalDecided: desktop.on_approval_decided,
        AgentRegistered: desktop.on_agent_registered,
    }
