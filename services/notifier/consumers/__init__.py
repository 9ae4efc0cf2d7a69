"""The notifier consumer group: the explicit table of event -> handler."""

from __future__ import annotations

from functools import partial

from services.notifier.consumers import customers, knowledge, tickets
from services.notifier.settings import NotifierSettings
from shared.events.catalogue import (
    ArticlePublished,
    CustomerIdentityLinked,
    CustomerRegistered,
    Event,
    KnownIssueUpdated,
    TicketOpened,
    TicketResolved,
)
from shared.messaging.inbox import EventHandler
from shared.web.auth import ACCESS_HANDLERS


def handlers(settings: NotifierSettings) -> dict[type[Event], EventHandler]:
    """Every event the notifier handles, bound to the settings detection needs."""
    return {
        **ACCESS_HANDLERS,
        TicketOpened: partial(tickets.on_ticket_opened, settings=settings),
        TicketResolved: tickets.on_ticket_resolved,
        KnownIssueUpdated: knowledge.on_known_issue_updated,
        ArticlePublished: knowledge.on_article_published,
        CustomerRegistered: customers.on_customer_registered,
        CustomerIdentityLinked: customers.on_identity_linked,
    }
