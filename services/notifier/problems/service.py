"""A problem's life as reports arrive: a cluster forms, becomes a problem, grows, may become a crisis."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import messages
from services.notifier.detection import service as detection_service
from services.notifier.detection.service import Match
from services.notifier.problems import clustering, sealing, state
from services.notifier.problems.models import Problem
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from services.notifier.subscriptions import service as subscription_service
from shared.errors import NotFound
from shared.events.catalogue import Event, ProblemDetected, ProblemEscalated, ProblemUpdatedV2
from shared.sealing import ERASED_TEXT
from shared.web.pagination import Keyset, fetch_page

VISIBLE_STATUSES = ("open", "resolved")
# A problem detected while ops page lands before the first page; one that gets a report moves to the front
# (it is seen again on the next walk from the start, as "most recently active" means).
MOST_RECENTLY_ACTIVE = Keyset("problems", ((Problem.last_seen, True), (Problem.id, True)))


async def place_report(
    *, session: AsyncSession, report: Report, matches: Sequence[Match], settings: NotifierSettings
) -> Problem | None:
    """Cluster a new report and turn what that changes into events, alerts and acknowledgements."""
    config = detection_service.DetectionConfig.from_settings(settings)
    placement = await clustering.assign_cluster(session=session, report=report, matches=matches, config=config)
    if placement is None:
        return None
    customers = await state.count_joined(session, placement.cluster, placement.joined)
    await evaluate(
        session=session,
        problem=placement.cluster,
        now=report.opened_at,
        settings=settings,
        added=placement.joined,
        joined_customers=customers,
    )
    return placement.cluster


async def evaluate(
    *,
    session: AsyncSession,
    problem: Problem,
    now: datetime,
    settings: NotifierSettings,
    change: Literal["report_joined", "merged", "split"] = "report_joined",
    added: Sequence[uuid.UUID] = (),
    merged: Sequence[uuid.UUID] = (),
    split: Sequence[uuid.UUID] = (),
    joined_customers: Collection[uuid.UUID] = (),
) -> None:
    """Refresh a cluster whose counts just moved; detect, update or escalate the problem it is.

    `added` are the tickets that came in (on a join, the joining report first; `joined_customers` are
    theirs, as counted, and are acknowledged if the problem is known). What a join does here
    does not grow with the problem; only what happens once in its life (detected, escalated) lists every
    member ticket.
    """
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
    detected = problem.status == "forming" and await _enough_customers(session, problem, now=now, settings=settings)
    if detected:
        problem.status, problem.detected_at = "open", wall
    if problem.status != "open":
        return
    escalated = problem.severity == "minor" and picture.growth_per_hour >= settings.crisis_customers_per_hour
    if escalated:
        problem.severity, problem.escalated_at = "major", wall
    # The authors' keys are asked for only when an event is written (problems/sealing.py).
    publishing = detected or escalated or bool(added) or change != "report_joined"
    reports = await sealing.event_reports(session, picture.representatives) if publishing else []
    summary = picture.summary_text
    if publishing:
        summary = await sealing.event_text(session, picture.summary_author, summary, field=sealing.SUMMARY_FIELD)
    # Whose words the summary is, so the router can seal its copy told to other customers' agents with
    # that customer's key (decision 0031); not known once the summary is erased.
    author = picture.summary_author if summary and summary != ERASED_TEXT else None
    fields = {**picture.event_fields(problem, reports, summary), "summary_author_id": author}
    tickets = await state.member_ticket_ids(session, problem.id) if detected or escalated else []
    events: list[Event] = []
    if detected:
        events.append(ProblemDetected(**fields, ticket_ids=tickets, detected_at=wall))
    elif added or change != "report_joined":
        events.append(
            ProblemUpdatedV2(
                **fields,
                change=change,
                updated_at=wall,
                joined_ticket_id=added[0] if change == "report_joined" and added else None,
                added_ticket_ids=list(added),
                merged_problem_ids=list(merged),
                split_ticket_ids=list(split),
            )
        )
    if escalated:
        events.append(ProblemEscalated(**fields, ticket_ids=tickets, escalated_at=wall))
    await subscription_service.publish(session=session, events=events)
    if detected or change == "merged":
        await messages.acknowledge_all(session=session, problem=problem)
    elif added:
        await messages.acknowledge_joined(session=session, problem=problem, customers=joined_customers)


async def _enough_customers(
    session: AsyncSession, problem: Problem, *, now: datetime, settings: NotifierSettings
) -> bool:
    """Whether enough distinct customers reported within the window to make the cluster a problem."""
    if problem.customer_count < settings.problem_min_customers:
        return False  # too few in all, so too few in the window: no need to count them
    since = now - timedelta(days=settings.duplicate_window_days)
    return await state.customers_since(session, problem.id, since) >= settings.problem_min_customers


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
    cursor: str | None,
    offset: int = 0,
) -> tuple[list[Problem], str | None]:
    """A page of problems for ops, most recently active first, and the cursor of the next; `since`/`until`
    bound their last report."""
    statement = select(Problem).where(Problem.status == status if status else Problem.status.in_(VISIBLE_STATUSES))
    if severity:
        statement = statement.where(Problem.severity == severity)
    if since:
        statement = statement.where(Problem.last_seen >= since)
    if until:
        statement = statement.where(Problem.last_seen <= until)
    return await fetch_page(session, statement, MOST_RECENTLY_ACTIVE, limit=limit, cursor=cursor, offset=offset)
