"""A problem's life as reports arrive: a cluster forms, becomes a problem, grows, may become a crisis."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import messages
from services.notifier.detection import service as detection_service
from services.notifier.detection.service import Match
from services.notifier.problems import clustering, state
from services.notifier.problems.models import Problem
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from services.notifier.subscriptions import service as subscription_service
from shared.errors import NotFound
from shared.events.catalogue import Event, ProblemDetected, ProblemEscalated, ProblemUpdated

VISIBLE_STATUSES = ("open", "resolved")


async def place_report(
    *, session: AsyncSession, report: Report, matches: Sequence[Match], settings: NotifierSettings
) -> Problem | None:
    """Cluster a new report and turn what that changes into events, alerts and acknowledgements."""
    config = detection_service.DetectionConfig.from_settings(settings)
    problem = await clustering.assign_cluster(session=session, report=report, matches=matches, config=config)
    if problem is not None:
        await evaluate(session=session, problem=problem, now=report.opened_at, settings=settings, joined=report)
    return problem


async def evaluate(
    *,
    session: AsyncSession,
    problem: Problem,
    now: datetime,
    settings: NotifierSettings,
    joined: Report | None = None,
    change: Literal["report_joined", "merged", "split"] = "report_joined",
    merged: Sequence[uuid.UUID] = (),
    split: Sequence[uuid.UUID] = (),
) -> None:
    """Refresh a cluster after it changed; detect, update or escalate the problem it is."""
    picture = await state.picture(
        session,
        problem,
        now=now,
        growth_stretch=timedelta(minutes=settings.growth_window_minutes),
        meaning_weight=detection_service.DetectionConfig.from_settings(settings).meaning_weight,
    )
    problem.growth_per_hour = picture.growth_per_hour
    problem.summary_text = picture.summary_text
    problem.representative_ticket_id = picture.representative_ticket_id
    wall = datetime.now(UTC)
    problem.updated_at = wall
    detected = (
        problem.status == "forming"
        and state.customers_since(picture.members, now - timedelta(days=settings.duplicate_window_days))
        >= settings.problem_min_customers
    )
    if detected:
        problem.status, problem.detected_at = "open", wall
    if problem.status != "open":
        return
    escalated = problem.severity == "minor" and picture.growth_per_hour >= settings.crisis_customers_per_hour
    if escalated:
        problem.severity, problem.escalated_at = "major", wall
    fields = picture.event_fields(problem)
    events: list[Event] = []
    if detected:
        events.append(ProblemDetected(**fields, detected_at=wall))
    elif joined is not None or change != "report_joined":
        events.append(
            ProblemUpdated(
                **fields,
                joined_ticket_id=joined.ticket_id if joined else None,
                change=change,
                updated_at=wall,
                merged_problem_ids=list(merged),
                split_ticket_ids=list(split),
            )
        )
    if escalated:
        events.append(ProblemEscalated(**fields, escalated_at=wall))
    await subscription_service.publish(session=session, events=events)
    await messages.acknowledge(
        session=session, problem=problem, members=picture.members, customers={m.customer_id for m in picture.members}
    )


async def get_problem(*, session: AsyncSession, problem_id: uuid.UUID) -> Problem:
    """A problem (or forming cluster), or a 404 problem."""
    problem = await session.get(Problem, problem_id)
    if problem is None:
        raise NotFound("Problem", problem_id)
    return problem


async def list_problems(
    *,
    session: AsyncSession,
    status: str | None,
    severity: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> list[Problem]:
    """Problems for ops, most recently active first; `since`/`until` bound their last report."""
    statement = select(Problem).where(Problem.status == status if status else Problem.status.in_(VISIBLE_STATUSES))
    if severity:
        statement = statement.where(Problem.severity == severity)
    if since:
        statement = statement.where(Problem.last_seen >= since)
    if until:
        statement = statement.where(Problem.last_seen <= until)
    statement = statement.order_by(Problem.last_seen.desc(), Problem.id).limit(limit).offset(offset)
    return list(await session.scalars(statement))


async def counts(*, session: AsyncSession, problem_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    """(customers, reports) of each problem."""
    if not problem_ids:
        return {}
    rows = await session.execute(
        select(Report.cluster_id, func.count(func.distinct(Report.customer_id)), func.count())
        .where(Report.cluster_id.in_(problem_ids))
        .group_by(Report.cluster_id)
    )
    found = {cluster_id: (customers, reports) for cluster_id, customers, reports in rows}
    return {problem_id: found.get(problem_id, (0, 0)) for problem_id in problem_ids}
