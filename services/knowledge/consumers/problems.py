"""Problem events in: known issues drafted, refreshed and moved to fix available."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.known_issues import service as known_issue_service
from services.knowledge.search.replica import SearchReplica
from services.knowledge.suggestions import service as suggestion_service
from shared.events.catalogue import (
    ProblemDetected,
    ProblemEscalated,
    ProblemResolved,
    ProblemUpdated,
    ProblemUpdatedV2,
)


async def on_problem_detected(event: ProblemDetected, session: AsyncSession, *, replica: SearchReplica) -> None:
    issue = await known_issue_service.draft_from_problem(session=session, problem=event)
    await suggestion_service.attach_known_issue(session=session, ticket_ids=event.ticket_ids, issue=issue)


async def on_problem_updated_v1(event: ProblemUpdated, session: AsyncSession, *, replica: SearchReplica) -> None:
    issue = await known_issue_service.draft_from_problem(session=session, problem=event)
    joined = [event.joined_ticket_id] if event.joined_ticket_id else event.ticket_ids
    await suggestion_service.attach_known_issue(session=session, ticket_ids=joined, issue=issue)


async def on_problem_updated(event: ProblemUpdatedV2, session: AsyncSession, *, replica: SearchReplica) -> None:
    issue = await known_issue_service.draft_from_problem(session=session, problem=event)
    if event.added_ticket_ids:
        await suggestion_service.attach_known_issue(session=session, ticket_ids=event.added_ticket_ids, issue=issue)


async def on_problem_escalated(event: ProblemEscalated, session: AsyncSession, *, replica: SearchReplica) -> None:
    issue = await known_issue_service.draft_from_problem(session=session, problem=event)
    await suggestion_service.attach_known_issue(session=session, ticket_ids=event.ticket_ids, issue=issue)


async def on_problem_resolved(event: ProblemResolved, session: AsyncSession, *, replica: SearchReplica) -> None:
    await known_issue_service.fix_from_problem(session=session, event=event)
