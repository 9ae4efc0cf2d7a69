"""Which cluster a new report belongs to, given its neighbours.

A report joins the active cluster of its most similar neighbour above the threshold; when no neighbour
belongs to one, it starts a cluster with them. Unclustered neighbours above the threshold are brought
along (the first reports of an outage often arrive before anything links them). A ticket ops split off a
problem is never brought back into it: that is how a split teaches the detector.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.detection.service import Match
from services.notifier.problems.models import ACTIVE_STATUSES, Problem, ProblemExclusion
from services.notifier.reports.models import Report


async def assign_cluster(
    *, session: AsyncSession, report: Report, matches: Sequence[Match], threshold: float
) -> Problem | None:
    """Put the report in a cluster (joining or starting one); None when nothing is close enough."""
    close = [match for match in matches if match.score >= threshold]
    if not close:
        return None
    active = await _active_clusters(session, {m.cluster_id for m in close if m.cluster_id is not None})
    joined = next((active[m.cluster_id] for m in close if m.cluster_id in active), None)
    target = joined or await _new_cluster(session, report.opened_at)
    report.cluster_id = target.id
    strays = [m.ticket_id for m in close if m.cluster_id is None]
    if strays:
        await _bring_along(session, target, strays)
    await session.flush()
    return target


async def _active_clusters(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Problem]:
    if not ids:
        return {}
    rows = await session.scalars(select(Problem).where(Problem.id.in_(ids), Problem.status.in_(ACTIVE_STATUSES)))
    return {problem.id: problem for problem in rows}


async def _new_cluster(session: AsyncSession, opened_at: datetime) -> Problem:
    now = datetime.now(UTC)
    problem = Problem(
        id=uuid.uuid4(),
        status="forming",
        severity="minor",
        summary_text="",
        first_seen=opened_at,
        last_seen=opened_at,
        growth_per_hour=0.0,
        created_at=now,
        updated_at=now,
    )
    session.add(problem)
    await session.flush()  # the cluster row must exist before any report points at it
    return problem


async def _bring_along(session: AsyncSession, target: Problem, tickets: list[uuid.UUID]) -> None:
    excluded = set(
        await session.scalars(
            select(ProblemExclusion.ticket_id).where(
                ProblemExclusion.problem_id == target.id, ProblemExclusion.ticket_id.in_(tickets)
            )
        )
    )
    allowed = [ticket for ticket in tickets if ticket not in excluded]
    if allowed:
        await session.execute(
            update(Report)
            .where(Report.ticket_id.in_(allowed), Report.cluster_id.is_(None))
            .values(cluster_id=target.id)
        )
