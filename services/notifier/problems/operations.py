"""What ops do to problems: merge two, split wrongly grouped tickets off, resolve one (and tell everyone)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import messages
from services.notifier.detection.index import lock_detection
from services.notifier.knowledge import service as knowledge_service
from services.notifier.problems import clustering, state
from services.notifier.problems.models import ACTIVE_STATUSES, Problem, ProblemExclusion
from services.notifier.problems.schemas import ResolveRequest
from services.notifier.problems.service import evaluate, get_problem
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from services.notifier.subscriptions import service as subscription_service
from shared.db import insert_ignoring_duplicates
from shared.errors import Conflict, FieldError, ProblemError, invalid, invalid_fields
from shared.events.catalogue import ProblemResolved


async def merge_problems(
    *, session: AsyncSession, problem_id: uuid.UUID, other_id: uuid.UUID, settings: NotifierSettings
) -> Problem:
    """Fold another problem into this one: its reports, exclusions and known issues move here."""
    await lock_detection(session)
    if other_id == problem_id:
        raise _invalid("body.problem_id", "a problem cannot be merged into itself")
    target = await _active(session, problem_id)
    source = await _active(session, other_id)
    moved = list(
        await session.scalars(
            update(Report)
            .where(Report.cluster_id == source.id)
            .values(cluster_id=target.id)
            .returning(Report.ticket_id)
        )
    )
    for ticket_id in await session.scalars(
        select(ProblemExclusion.ticket_id).where(ProblemExclusion.problem_id == source.id)
    ):
        await _exclude(session, ticket_id, target.id)
    await knowledge_service.move_known_issues(session=session, source=source.id, target=target.id)
    source.status, source.merged_into, source.updated_at = "merged", target.id, datetime.now(UTC)
    if source.detected_at and target.status == "forming":
        target.status, target.detected_at = "open", source.detected_at
    await session.flush()
    await state.recount(session, target)
    await state.recount(session, source)
    await evaluate(
        session=session,
        problem=target,
        now=target.last_seen,
        settings=settings,
        change="merged",
        added=moved,
        merged=[source.id],
    )
    return target


async def split_problem(
    *,
    session: AsyncSession,
    problem_id: uuid.UUID,
    ticket_ids: list[uuid.UUID],
    as_new_problem: bool,
    settings: NotifierSettings,
) -> tuple[Problem, Problem | None]:
    """Take wrongly grouped tickets out of a problem, for good: the detector will not put them back."""
    await lock_detection(session)
    problem = await _active(session, problem_id)
    members = {m.ticket_id for m in await state.members_of(session, problem.id)}
    errors = [
        FieldError(field=f"body.ticket_ids.{i}", message="not a ticket of this problem", type="not_a_member")
        for i, ticket_id in enumerate(ticket_ids)
        if ticket_id not in members
    ]
    if errors:
        raise invalid_fields(errors)
    if members <= set(ticket_ids):
        raise _invalid("body.ticket_ids", "splitting off every ticket would leave the problem empty")
    new_cluster = None
    if as_new_problem:
        new_cluster = await clustering.new_cluster(session, first_seen=problem.first_seen, last_seen=problem.last_seen)
    await session.execute(
        update(Report)
        .where(Report.ticket_id.in_(ticket_ids))
        .values(cluster_id=new_cluster.id if new_cluster else None)
    )
    for ticket_id in ticket_ids:
        await _exclude(session, ticket_id, problem.id)
    await state.recount(session, problem)
    await evaluate(
        session=session, problem=problem, now=problem.last_seen, settings=settings, change="split", split=ticket_ids
    )
    if new_cluster is not None:
        await state.recount(session, new_cluster)
        await evaluate(
            session=session, problem=new_cluster, now=new_cluster.last_seen, settings=settings, change="split"
        )
    return problem, new_cluster


async def resolve_problem(*, session: AsyncSession, problem_id: uuid.UUID, request: ResolveRequest) -> Problem:
    """Close a problem with its fix, publish ProblemResolved, and queue one message per affected customer."""
    await lock_detection(session)
    problem = await get_problem(session=session, problem_id=problem_id)
    if problem.status != "open":
        raise Conflict("problem-not-open", f"Only open problems can be resolved; this one is {problem.status}.")
    article = None
    if request.article_id is not None:
        article = await knowledge_service.get_article(session=session, article_id=request.article_id)
        if article is None:
            raise _invalid("body.article_id", "no published article with this id is known")
    now = datetime.now(UTC)
    problem.status, problem.resolved_at, problem.updated_at = "resolved", now, now
    problem.resolution, problem.fix_version, problem.article_id = (
        request.resolution,
        request.fix_version,
        request.article_id,
    )
    members = await state.members_of(session, problem.id)
    event = ProblemResolved(
        problem_id=problem.id,
        ticket_ids=[m.ticket_id for m in members],
        resolution=request.resolution,
        fix_version=request.fix_version,
        article_id=request.article_id,
        resolved_at=now,
    )
    await subscription_service.publish(session=session, events=[event])
    await messages.tell_resolution(
        session=session, problem=problem, members=members, article_title=article.title if article else None
    )
    return problem


async def _active(session: AsyncSession, problem_id: uuid.UUID) -> Problem:
    problem = await get_problem(session=session, problem_id=problem_id)
    if problem.status not in ACTIVE_STATUSES:
        raise Conflict("problem-not-active", f"Problem {problem_id} is {problem.status}; only active ones change.")
    return problem


async def _exclude(session: AsyncSession, ticket_id: uuid.UUID, problem_id: uuid.UUID) -> None:
    await insert_ignoring_duplicates(
        session,
        ProblemExclusion.__table__,  # type: ignore[arg-type]
        {"ticket_id": ticket_id, "problem_id": problem_id, "created_at": datetime.now(UTC)},
    )


def _invalid(field: str, message: str) -> ProblemError:
    return invalid(field, message)
