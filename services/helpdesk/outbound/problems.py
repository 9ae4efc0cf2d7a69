"""firstcall -> RT for problems and knowledge: the tickets concerned get a comment and their fields updated."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.effects.models import PENDING, Effect
from services.helpdesk.links import service as links
from services.helpdesk.links.models import TicketLink
from services.helpdesk.outbound import messages, planning
from shared.events.catalogue import (
    KnowledgeSuggested,
    KnownIssueUpdated,
    ProblemDetected,
    ProblemEscalated,
    ProblemResolved,
    ProblemUpdated,
    ProblemUpdatedV2,
)
from shared.events.problems import ProblemState


async def problem_joined(
    *,
    session: AsyncSession,
    event: ProblemState,
    ticket_ids: Sequence[uuid.UUID],
    what: str,
    at: datetime,
    now: datetime,
) -> None:
    """Tickets that joined a problem are told which, and how many other customers report it."""
    known = await planning.comment_on(
        session=session,
        ticket_ids=ticket_ids,
        content=messages.problem(event, what=what),
        cause=planning.cause_of(event),
        decided_at=at,
        now=now,
        fields={"problem": messages.problem_field(event)},
    )
    for link in known:
        link.problem_id, link.updated_at = event.problem_id, now


async def problem_detected(*, session: AsyncSession, event: ProblemDetected, now: datetime) -> None:
    await problem_joined(
        session=session, event=event, ticket_ids=event.ticket_ids, what="detected", at=event.detected_at, now=now
    )


async def problem_escalated(*, session: AsyncSession, event: ProblemEscalated, now: datetime) -> None:
    await problem_joined(
        session=session, event=event, ticket_ids=event.ticket_ids, what="escalated", at=event.escalated_at, now=now
    )


async def problem_updated(*, session: AsyncSession, event: ProblemUpdatedV2, now: datetime) -> None:
    """Tickets that came in are told; tickets ops split off are told they left (members are not re-told)."""
    await problem_joined(
        session=session, event=event, ticket_ids=event.added_ticket_ids, what="joined", at=event.updated_at, now=now
    )
    left = await planning.comment_on(
        session=session,
        ticket_ids=event.split_ticket_ids,
        content=messages.split_off(),
        cause=planning.cause_of(event),
        decided_at=event.updated_at,
        now=now,
        fields={"problem": None},
    )
    for link in left:
        link.problem_id, link.updated_at = None, now


async def problem_updated_v1(*, session: AsyncSession, event: ProblemUpdated, now: datetime) -> None:
    joined = [event.joined_ticket_id] if event.joined_ticket_id else []
    await problem_joined(session=session, event=event, ticket_ids=joined, what="joined", at=event.updated_at, now=now)


async def problem_resolved(*, session: AsyncSession, event: ProblemResolved, now: datetime) -> None:
    members = set(event.ticket_ids)
    linked = await session.scalars(select(TicketLink.ticket_id).where(TicketLink.problem_id == event.problem_id))
    await planning.comment_on(
        session=session,
        ticket_ids=[*event.ticket_ids, *(t for t in linked if t not in members)],
        content=messages.problem_resolved(event),
        cause=planning.cause_of(event),
        decided_at=event.resolved_at,
        now=now,
        fields={"problem": f"resolved: {event.resolution}"[: messages.PROBLEM_FIELD_LIMIT]},
    )


async def knowledge_suggested(
    *, session: AsyncSession, event: KnowledgeSuggested, article_url: str, now: datetime
) -> None:
    """Suggestions that come after the context comment went out come as a comment of their own."""
    link = await links.ticket_link(session=session, ticket_id=event.ticket_id)
    if link is None:
        return
    issue = event.known_issue
    link.known_issue_id = issue.known_issue_id if issue else None
    fields = {"known issue": messages.known_issue_field(issue.title, issue.status) if issue else None}
    late = link.context_posted and not await _context_pending(session, link.ticket_id)
    if late and (event.articles or issue):
        planning.comment(
            session=session,
            ticket_id=link.ticket_id,
            content=messages.suggestions(event, article_url=article_url),
            cause=planning.cause_of(event),
            decided_at=event.computed_at,
            now=now,
            fields=fields,
        )


async def _context_pending(session: AsyncSession, ticket_id: uuid.UUID) -> bool:
    """A context comment still to be written is rendered when written: it will carry the suggestions."""
    statement = select(Effect.seq).where(
        Effect.ticket_id == ticket_id, Effect.kind == planning.CONTEXT, Effect.status == PENDING
    )
    return (await session.scalars(statement.limit(1))).first() is not None


async def known_issue_updated(*, session: AsyncSession, event: KnownIssueUpdated, now: datetime) -> None:
    """The tickets suggested this known issue hear of its new status (a workaround, a fix)."""
    statement = select(TicketLink.ticket_id).where(
        TicketLink.known_issue_id == event.known_issue_id, TicketLink.open.is_(True)
    )
    await planning.comment_on(
        session=session,
        ticket_ids=list((await session.scalars(statement.limit(1000))).all()),
        content=messages.known_issue(event),
        cause=planning.cause_of(event),
        decided_at=event.updated_at,
        now=now,
        fields={"known issue": messages.known_issue_field(event.title, event.status)},
    )
