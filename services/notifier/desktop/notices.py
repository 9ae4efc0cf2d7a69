"""What in the router's events concerns an agent, and whom: the notice a desktop webhook carries.

The same table as the router's desktop stream (services/router/desktop/notices.py), so an agent hears the
same things in the same parts on both channels (docs/desktop-push.md#messages).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from shared.events.catalogue import (
    AccountOwnerChanged,
    ApprovalDecided,
    Event,
    SlaBreached,
    TicketAssigned,
    TicketTransferred,
)
from shared.events.desktop import SlaAtRisk, TicketProblemLinked

_NOTICE_NAMESPACE = uuid.UUID("2f1d6c0e-8a4b-4f57-9c3e-5b7a1d9e0c42")
REQUESTER = "requester"  # not in ApprovalDecided's data: who asked, from the notifier's own projection


@dataclass(frozen=True)
class Kind:
    """How one event type concerns agents: (field naming an agent, that agent's part), and its time field."""

    parts: tuple[tuple[str, str], ...]
    time_field: str


KINDS: dict[type[Event], Kind] = {
    TicketAssigned: Kind((("agent_id", "assignee"),), "assigned_at"),
    TicketTransferred: Kind(
        (("to_agent_id", "transferred_to"), ("from_agent_id", "transferred_from")), "transferred_at"
    ),
    ApprovalDecided: Kind(((REQUESTER, "requester"),), "decided_at"),
    SlaAtRisk: Kind((("agent_id", "ticket_agent"),), "at_risk_at"),
    # `previous_agent_id`: the agent the breach's escalation took the ticket from.
    SlaBreached: Kind((("agent_id", "ticket_agent"), ("previous_agent_id", "previous_agent")), "breached_at"),
    AccountOwnerChanged: Kind((("owner_id", "new_owner"), ("previous_owner_id", "previous_owner")), "changed_at"),
    TicketProblemLinked: Kind((("agent_id", "ticket_agent"),), "linked_at"),
}


@dataclass(frozen=True)
class Notice:
    """One router event as desktop webhooks carry it."""

    id: uuid.UUID  # the same for the same event, however often it is delivered to the notifier
    event: str  # the catalogue name: `ticket.assigned`
    type: str  # the CloudEvents type: `firstcall.ticket.assigned`
    subject: str
    time: str  # when it happened, as the event's own time field says it
    concerns: Mapping[uuid.UUID, str]  # agent -> the agent's part in it
    data: Mapping[str, Any]
    ticket_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    problem_id: uuid.UUID | None

    def body(self, *, subscription_id: uuid.UUID, audience: str, concerns: list[dict[str, str | None]]) -> bytes:
        """The JSON a subscription receives (docs/desktop-push.md#webhooks)."""
        return orjson.dumps(
            {
                "notice_id": str(self.id),
                "event": self.event,
                "type": self.type,
                "subject": self.subject,
                "time": self.time,
                "subscription_id": str(subscription_id),
                "audience": audience,
                "concerns": concerns,
                "data": self.data,
            }
        )


def notice_of(event: Event, *, requester: uuid.UUID | None = None) -> Notice:
    """The notice of a desktop event; `requester`: the agent who asked for a decided approval."""
    kind = KINDS[type(event)]
    data = event.model_dump(mode="json")
    extra = {REQUESTER: requester}
    concerns: dict[uuid.UUID, str] = {}
    for field, part in kind.parts:
        agent = extra.get(field) or getattr(event, field, None)
        if isinstance(agent, uuid.UUID):
            concerns.setdefault(agent, part)
    return Notice(
        id=_content_id(event.cloudevent_type(), data),
        event=event.name,
        type=event.cloudevent_type(),
        subject=event.aggregate_id,
        time=data[kind.time_field],
        concerns=concerns,
        data=data,
        ticket_id=getattr(event, "ticket_id", None),
        customer_id=getattr(event, "customer_id", None),
        problem_id=getattr(event, "problem_id", None),
    )


def _content_id(event_type: str, data: Mapping[str, Any]) -> uuid.UUID:
    # Handlers get the event, not its envelope id; every one of these events carries its own time, so its
    # content names it as well, and a redelivered copy (or the router publishing it twice) is the same.
    return uuid.uuid5(_NOTICE_NAMESPACE, event_type + orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode())
