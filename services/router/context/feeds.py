"""Keeping what knowledge and the notifier publish, so the agent's context needs no remote call."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.context.models import KnownIssueStatus, ProblemSnapshot, TicketKnowledge
from services.router.tickets.life import UNFINISHED_STATUSES
from services.router.tickets.models import PRIORITY_RANK, Ticket
from shared.events.catalogue import (
    KnowledgeSuggested,
    KnownIssueUpdated,
    ProblemResolved,
    ProblemUpdatedV2,
    TicketPriorityChanged,
)
from shared.events.problems import ProblemState, ProblemWithTickets
from shared.messaging.outbox import add_events


async def keep_suggestion(*, session: AsyncSession, event: KnowledgeSuggested) -> None:
    """The latest suggestion for a ticket replaces older ones (an older event never wins)."""
    stored = await session.get(TicketKnowledge, event.ticket_id)
    if stored is not None and stored.computed_at >= event.computed_at:
        return
    articles = [article.model_dump(mode="json") for article in event.articles]
    known_issue = event.known_issue.model_dump(mode="json") if event.known_issue else None
    if stored is None:
        session.add(
            TicketKnowledge(
                ticket_id=event.ticket_id, articles=articles, known_issue=known_issue, computed_at=event.computed_at
            )
        )
    else:
        stored.articles, stored.known_issue, stored.computed_at = articles, known_issue, event.computed_at


async def keep_known_issue(*, session: AsyncSession, event: KnownIssueUpdated) -> None:
    """Today's status of a known issue (revisions only move forward)."""
    stored = await session.get(KnownIssueStatus, event.known_issue_id)
    if stored is not None and stored.revision >= event.revision:
        return
    if stored is None:
        stored = KnownIssueStatus(known_issue_id=event.known_issue_id)
        session.add(stored)
    stored.revision, stored.status, stored.title = event.revision, event.status, event.title[:300]
    stored.workaround, stored.fix, stored.problem_id = event.workaround, event.fix, event.problem_id
    stored.updated_at = event.updated_at


async def keep_problem(*, session: AsyncSession, event: ProblemState, at: datetime) -> bool:
    """A problem as the notifier sees it now; False if a newer picture is already kept, or if ops merged
    the problem into another (its picture is the survivor's now)."""
    problem = await session.get(ProblemSnapshot, event.problem_id)
    if problem is not None and (problem.updated_at > at or problem.merged_into_id is not None):
        return False
    if problem is None:
        problem = ProblemSnapshot(id=event.problem_id, status="open", resolution=None)
        session.add(problem)
    problem.summary, problem.severity = event.summary_text[:1000], event.severity
    problem.summary_author_id = event.summary_author_id
    problem.customer_count, problem.report_count = event.customer_count, event.report_count
    problem.first_seen, problem.last_seen, problem.updated_at = event.first_seen, event.last_seen, at
    return True


async def keep_problem_tickets(*, session: AsyncSession, event: ProblemWithTickets, at: datetime) -> None:
    """A problem with its whole member list (detected, escalated, updated v1): which tickets belong to it."""
    kept = await keep_problem(session=session, event=event, at=at)
    survivor = await _survivor(session, event.problem_id)
    if (kept or survivor != event.problem_id) and event.ticket_ids:
        await _set_problem(session, Ticket.id.in_(event.ticket_ids), survivor)


async def apply_problem_change(*, session: AsyncSession, event: ProblemUpdatedV2) -> None:
    """A problem's tickets as they move: those that came in belong to it, those split off no longer do.

    Applied even when a newer picture is kept: the change names only its own tickets, and no later event
    repeats them.
    """
    if event.change == "merged" and event.merged_problem_ids:
        await _fold(session, merged=event.merged_problem_ids, into=event, at=event.updated_at)
    await keep_problem(session=session, event=event, at=event.updated_at)
    # A change that arrives after ops merged its problem away (events of two problems are not ordered
    # against each other) is applied to the survivor.
    survivor = await _survivor(session, event.problem_id)
    if event.added_ticket_ids:
        await _set_problem(session, Ticket.id.in_(event.added_ticket_ids), survivor)
        if event.severity == "major":
            # Escalation raised the open tickets it listed; those that join the crisis later jump the queue too.
            await raise_to_urgent(
                session=session, ticket_ids=event.added_ticket_ids, problem_id=event.problem_id, at=event.updated_at
            )
    if event.split_ticket_ids:
        await _set_problem(
            session, and_(Ticket.id.in_(event.split_ticket_ids), Ticket.problem_id == event.problem_id), None
        )


async def _fold(session: AsyncSession, *, merged: Sequence[uuid.UUID], into: ProblemState, at: datetime) -> None:
    """Problems ops merged into `into`: marked as merged (created so if not seen yet, so that their late
    events know), and every ticket of theirs moved to the survivor, also those of problems merged into them."""
    for problem_id in merged:
        problem = await session.get(ProblemSnapshot, problem_id)
        if problem is None:
            problem = ProblemSnapshot(
                id=problem_id,
                summary=into.summary_text[:1000],
                summary_author_id=into.summary_author_id,
                severity=into.severity,
                customer_count=0,
                report_count=0,
                resolution=None,
                first_seen=into.first_seen,
                last_seen=into.last_seen,
            )
            session.add(problem)
        problem.status, problem.merged_into_id, problem.updated_at = "merged", into.problem_id, at
    await session.execute(
        update(ProblemSnapshot).where(ProblemSnapshot.merged_into_id.in_(merged)).values(merged_into_id=into.problem_id)
    )
    await _set_problem(session, Ticket.problem_id.in_(merged), into.problem_id)


async def _set_problem(session: AsyncSession, which: ColumnElement[bool], problem_id: uuid.UUID | None) -> None:
    """The tickets' problem, and their `updated_at` if it changed (GET /v1/tickets?updated_after= sees it).

    The router's clock, not the event's: a late event must not move `updated_at` back.
    """
    await session.execute(
        update(Ticket)
        .where(which, Ticket.problem_id.is_distinct_from(problem_id))
        .values(problem_id=problem_id, updated_at=datetime.now(UTC))
    )


async def _survivor(session: AsyncSession, problem_id: uuid.UUID) -> uuid.UUID:
    """The problem that holds `problem_id`'s tickets now: itself, or the one ops merged it into."""
    problem = await session.get(ProblemSnapshot, problem_id)
    return problem.merged_into_id if problem is not None and problem.merged_into_id is not None else problem_id


async def raise_to_urgent(
    *, session: AsyncSession, ticket_ids: Sequence[uuid.UUID], problem_id: uuid.UUID, at: datetime
) -> int:
    """Open tickets of a major problem jump the queue (priority urgent), each change announced."""
    tickets = (
        await session.scalars(
            select(Ticket).where(Ticket.id.in_(ticket_ids), Ticket.status.in_(UNFINISHED_STATUSES)).with_for_update()
        )
    ).all()
    raised = 0
    for ticket in tickets:
        if ticket.priority == "urgent":
            continue
        previous = ticket.priority
        ticket.priority, ticket.priority_rank, ticket.updated_at = "urgent", PRIORITY_RANK["urgent"], at
        await add_events(
            session,
            TicketPriorityChanged(
                ticket_id=ticket.id,
                customer_id=ticket.customer_id,
                previous=previous,
                priority="urgent",
                reason=f"part of major problem {problem_id}",
                changed_at=at,
            ),
        )
        raised += 1
    return raised


async def close_problem(*, session: AsyncSession, event: ProblemResolved) -> None:
    problem = await session.get(ProblemSnapshot, event.problem_id)
    if problem is not None:
        problem.status, problem.resolution, problem.updated_at = "resolved", event.resolution, event.resolved_at
