"""Which cluster a new report belongs to, given its neighbours.

A report joins the active cluster it is most like *on average* (its mean score against the cluster's
most recent members, average linkage) when that mean reaches the threshold; a cluster near one member
but far from the rest is not joined, which keeps two problems from chaining into one. When no cluster
qualifies, the report starts one with its unclustered neighbours above the threshold (the first reports
of an outage often arrive before anything links them), and those are brought along into any cluster it
joins. A ticket ops split off a problem is never brought back into it: that is how a split teaches the
detector.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.detection import service as detection_service
from services.notifier.detection.service import DetectionConfig, Match
from services.notifier.detection.similarity import ReportVector
from services.notifier.problems.models import ACTIVE_STATUSES, Problem, ProblemExclusion
from services.notifier.reports.models import Report

LINKAGE_MEMBERS = 50  # a cluster's most recent members a report is compared with: enough, and bounded
CLUSTERS_COMPARED = 5  # the clusters of the closest neighbours; farther ones cannot win on average


@dataclass(frozen=True)
class Placement:
    """The cluster a report went to, and every ticket that came in with it (the report first)."""

    cluster: Problem
    joined: list[uuid.UUID]


async def assign_cluster(
    *, session: AsyncSession, report: Report, matches: Sequence[Match], config: DetectionConfig
) -> Placement | None:
    """Put the report in a cluster (joining or starting one); None when nothing is close enough."""
    close = [match for match in matches if match.score >= config.threshold]
    if not close:
        return None
    target = await _closest_cluster(session, report, close, config)
    strays = [m.ticket_id for m in close if m.cluster_id is None]
    if target is None and not strays:
        return None
    target = target or await new_cluster(session, first_seen=report.opened_at, last_seen=report.opened_at)
    report.cluster_id = target.id
    brought = await _bring_along(session, target, strays) if strays else []
    await session.flush()
    return Placement(target, [report.ticket_id, *brought])


async def _closest_cluster(
    session: AsyncSession, report: Report, close: Sequence[Match], config: DetectionConfig
) -> Problem | None:
    """The active cluster the report is most like on average, if that reaches the threshold."""
    # Resolved clusters are passed over before the places are counted: a resolved problem's reports are often
    # the nearest neighbours of a recurrence, and must not crowd out the active cluster just behind them.
    by_closeness = list(dict.fromkeys(m.cluster_id for m in close if m.cluster_id is not None))
    active = await _active_clusters(session, set(by_closeness))
    nearest = [cluster_id for cluster_id in by_closeness if cluster_id in active][:CLUSTERS_COMPARED]
    if not nearest or report.features is None:
        return None
    vector = ReportVector.from_row(report.features, report.embedding)
    affinity = await detection_service.cluster_affinity(
        session=session,
        vector=vector,
        cluster_ids=nearest,
        config=config,
        members=LINKAGE_MEMBERS,
    )
    best = max(affinity.items(), key=lambda item: item[1], default=None)
    return active[best[0]] if best is not None and best[1] >= config.threshold else None


async def _active_clusters(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Problem]:
    if not ids:
        return {}
    rows = await session.scalars(select(Problem).where(Problem.id.in_(ids), Problem.status.in_(ACTIVE_STATUSES)))
    return {problem.id: problem for problem in rows}


async def new_cluster(session: AsyncSession, *, first_seen: datetime, last_seen: datetime) -> Problem:
    """A new forming cluster, written at once: the reports that go into it point at its row."""
    now = datetime.now(UTC)
    problem = Problem(
        id=uuid.uuid4(),
        status="forming",
        severity="minor",
        summary_text="",
        first_seen=first_seen,
        last_seen=last_seen,
        growth_per_hour=0.0,
        created_at=now,
        updated_at=now,
        report_count=0,
        customer_count=0,
        intents=[],
        products=[],
    )
    session.add(problem)
    await session.flush()  # the cluster row must exist before any report points at it
    return problem


async def _bring_along(session: AsyncSession, target: Problem, tickets: list[uuid.UUID]) -> list[uuid.UUID]:
    """Move unclustered neighbours into the cluster (unless ops split them off it); the ones moved."""
    excluded = set(
        await session.scalars(
            select(ProblemExclusion.ticket_id).where(
                ProblemExclusion.problem_id == target.id, ProblemExclusion.ticket_id.in_(tickets)
            )
        )
    )
    allowed = [ticket for ticket in tickets if ticket not in excluded]
    if not allowed:
        return []
    moved = await session.scalars(
        update(Report)
        .where(Report.ticket_id.in_(allowed), Report.cluster_id.is_(None))
        .values(cluster_id=target.id)
        .returning(Report.ticket_id)
    )
    return list(moved)
