"""Problem and notification events, published by the notifier."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events import topics
from shared.events.base import Event, register

Severity = Literal["minor", "major"]


class ProblemEvent(Event):
    topic = topics.PROBLEMS
    producer = "notifier"

    problem_id: UUID

    @property
    def aggregate_id(self) -> str:
        return str(self.problem_id)


class ProblemState(ProblemEvent):
    """What a problem looks like now: every problem event that changes it carries the whole picture."""

    summary_text: str = Field(
        description="representative summary of the reports: one customer's words; while the router seals, sealed "
        "with that customer's key (`fcs2:<customer id>:<base64>`, decision 0031), read as `[erased]` once erased"
    )
    summary_author_id: UUID | None = Field(
        None,
        description="whose words summary_text is (a random customer id, nothing personal; a sealed summary names "
        "it too); None when not known",
    )
    representative_reports: list[str] = Field(
        description="a few member reports, verbatim; while the router seals, each is sealed with its author's key "
        "(`fcs2:<customer id>:<base64>`, decision 0031) and a consumer opens it or, the author erased, leaves it out"
    )
    customer_count: int = Field(ge=0)
    report_count: int = Field(ge=0)
    first_seen: datetime
    last_seen: datetime
    intents: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    growth_per_hour: float = Field(ge=0, description="distinct customers joining per hour, recently")
    severity: Severity


class ProblemWithTickets(ProblemState):
    """The picture and every member ticket: for what happens once in a problem's life (detected, escalated).

    A problem's growth is told as changes (ProblemUpdated v2): repeating thousands of member ids on every
    report that joins made each event, and the work of publishing it, grow with the problem.
    """

    ticket_ids: list[UUID]


@register
class ProblemDetected(ProblemWithTickets):
    """Near-duplicate reports from enough different customers became one problem for ops."""

    name = "problem.detected"
    summary = "Many customers report the same problem."

    detected_at: datetime


@register
class ProblemUpdated(ProblemWithTickets):
    """Another report joined a problem (or ops merged or split it), with every member ticket.

    Version 1, no longer published (ProblemUpdatedV2 replaced it); kept so that consumers still read the
    ones already on the topic.
    """

    name = "problem.updated"
    summary = "A problem grew or changed (every member ticket listed); replaced by version 2."
    published = False

    joined_ticket_id: UUID | None = None
    change: Literal["report_joined", "merged", "split", "edited"]
    updated_at: datetime
    merged_problem_ids: list[UUID] = Field(default_factory=list, description="problems folded into this one")
    split_ticket_ids: list[UUID] = Field(default_factory=list, description="tickets ops split off this problem")


@register
class ProblemUpdatedV2(ProblemState):
    """A report joined a problem, or ops merged or split it: the picture now and the tickets that moved.

    Unlike version 1 it does not list every member, only the change: its size does not grow with the
    problem. A consumer keeping the problem's tickets applies `added_ticket_ids` and `split_ticket_ids`.
    """

    name = "problem.updated"
    version = 2
    summary = "A problem grew or changed: the picture and the tickets that came in or left."

    change: Literal["report_joined", "merged", "split"]
    updated_at: datetime
    joined_ticket_id: UUID | None = Field(None, description="the report whose arrival changed the problem")
    added_ticket_ids: list[UUID] = Field(
        default_factory=list,
        description="tickets now in the problem: the joining report and unclustered neighbours it brought along, "
        "or the tickets of the merged problems",
    )
    merged_problem_ids: list[UUID] = Field(default_factory=list, description="problems folded into this one")
    split_ticket_ids: list[UUID] = Field(default_factory=list, description="tickets ops split off this problem")


@register
class ProblemEscalated(ProblemWithTickets):
    """A problem grows fast: major incident; the router raises the priority of its open tickets."""

    name = "problem.escalated"
    summary = "A problem became major."

    escalated_at: datetime


@register
class ProblemResolved(ProblemEvent):
    """Ops resolved a problem with a fix or an article; every affected customer will be told."""

    name = "problem.resolved"
    summary = "A problem was resolved."

    ticket_ids: list[UUID]
    resolution: str
    fix_version: str | None = None
    article_id: UUID | None = None
    resolved_at: datetime


@register
class CustomerNotified(Event):
    """A customer was told about a problem (acknowledgement or resolution), once, on one channel."""

    name = "notification.customer_notified"
    producer = "notifier"
    topic = topics.NOTIFICATIONS
    summary = "A customer was notified about a problem."

    notification_id: UUID
    customer_id: UUID
    problem_id: UUID
    ticket_id: UUID | None
    kind: Literal["acknowledgement", "resolution"]
    channel: Literal["email", "webhook"]
    sent_at: datetime

    @property
    def aggregate_id(self) -> str:
        return str(self.customer_id)
