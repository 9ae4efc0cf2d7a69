"""What the problem board shows of each problem: its card, read in a few statements for any number of problems.

A card is JSON-ready (the page renders it as it is): the problem's numbers and state, what knowledge says of
it, the customers reporting it in each five minutes of the last hour, and its latest reports (subject,
channel and time; never a customer's name or text: the board is a wall screen). Cards are read in batches:
one statement each for the counts per five minutes, the latest reports and the known issues, whatever the
number of problems, each through an index on the problem's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.knowledge.models import KnownIssue
from services.notifier.problems.models import Problem
from services.notifier.reports.models import Report

BUCKET = timedelta(minutes=5)
BUCKETS = 12  # the last hour
LATEST_REPORTS = 3
SUMMARY_CHARS = 300
RESOLUTION_CHARS = 500
OPEN_LIMIT = 60
FORMING_LIMIT = 12
RESOLVED_LIMIT = 12
RESOLVED_SHOWN_FOR = timedelta(hours=24)


@dataclass(frozen=True)
class Listed:
    """A problem on the board and what tells whether its card changed (cheap to read at every poll)."""

    id: uuid.UUID
    fingerprint: tuple[Any, ...]


def buckets_ending(now: datetime) -> list[datetime]:
    """The starts of the last hour's five-minute buckets, aligned on the clock (the last one is under way)."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    current = epoch + BUCKET * ((now - epoch) // BUCKET)
    return [current - BUCKET * (BUCKETS - 1 - i) for i in range(BUCKETS)]


async def listed(*, session: AsyncSession, now: datetime) -> list[Listed]:
    """The problems the board shows: open ones, the newest forming clusters, those resolved in the last day."""
    shown = [
        select(Problem.id).where(Problem.status == "open").order_by(Problem.last_seen.desc()).limit(OPEN_LIMIT),
        select(Problem.id).where(Problem.status == "forming").order_by(Problem.last_seen.desc()).limit(FORMING_LIMIT),
        select(Problem.id)
        .where(Problem.status == "resolved", Problem.resolved_at >= now - RESOLVED_SHOWN_FOR)
        .order_by(Problem.resolved_at.desc())
        .limit(RESOLVED_LIMIT),
    ]
    ids = [problem_id for query in shown for problem_id in await session.scalars(query)]
    if not ids:
        return []
    # What knowledge said changes no problem row: its latest word is part of the fingerprint.
    latest_word = await session.execute(
        select(KnownIssue.problem_id, func.max(KnownIssue.updated_at))
        .where(KnownIssue.problem_id.in_(ids))
        .group_by(KnownIssue.problem_id)
    )
    known = dict(latest_word.all())  # a Result has keys() of its own: dict() must get the rows
    rows = await session.execute(
        select(
            Problem.id,
            Problem.status,
            Problem.severity,
            Problem.updated_at,
            Problem.report_count,
            Problem.customer_count,
        ).where(Problem.id.in_(ids))
    )
    return [Listed(row.id, (*tuple(row)[1:], known.get(row.id))) for row in rows]


async def cards(
    *, session: AsyncSession, problem_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, dict[str, Any]]:
    """The cards of these problems (those that no longer exist are left out)."""
    if not problem_ids:
        return {}
    problems = list(await session.scalars(select(Problem).where(Problem.id.in_(problem_ids))))
    starts = buckets_ending(now)
    activity = await _customers_per_bucket(session, problem_ids, starts)
    latest = await _latest_reports(session, problem_ids)
    known = await _known_issues(session, problem_ids)
    return {
        problem.id: _card(
            problem,
            spark={
                "bucket_minutes": int(BUCKET.total_seconds() // 60),
                "starts_at": iso(starts[0]),
                "customers": activity.get(problem.id, [0] * BUCKETS),
            },
            latest=latest.get(problem.id, []),
            known=known.get(problem.id),
        )
        for problem in problems
    }


def _card(
    problem: Problem, *, spark: dict[str, Any], latest: list[dict[str, Any]], known: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": str(problem.id),
        "status": problem.status,
        "severity": problem.severity,
        "summary": _cut(problem.summary_text, SUMMARY_CHARS),
        "customer_count": problem.customer_count,
        "report_count": problem.report_count,
        "growth_per_hour": round(problem.growth_per_hour, 1),
        "first_seen": iso(problem.first_seen),
        "last_seen": iso(problem.last_seen),
        "detected_at": iso(problem.detected_at),
        "escalated_at": iso(problem.escalated_at),
        "resolved_at": iso(problem.resolved_at),
        "resolution": _cut(problem.resolution, RESOLUTION_CHARS),
        "fix_version": problem.fix_version,
        "products": list(problem.products)[:5],
        "intents": list(problem.intents)[:5],
        "known_issue": known,
        "spark": spark,
        "latest_reports": latest,
    }


async def _customers_per_bucket(
    session: AsyncSession, problem_ids: Sequence[uuid.UUID], starts: list[datetime]
) -> dict[uuid.UUID, list[int]]:
    # count(DISTINCT CASE ...) per bucket reads in any SQL dialect, over one range of (cluster_id, opened_at).
    ends = [*starts[1:], starts[-1] + BUCKET]
    columns = [
        func.count(func.distinct(case((and_(Report.opened_at >= start, Report.opened_at < end), Report.customer_id))))
        for start, end in zip(starts, ends, strict=True)
    ]
    rows = await session.execute(
        select(Report.cluster_id, *columns)
        .where(Report.cluster_id.in_(problem_ids), Report.opened_at >= starts[0], Report.opened_at < ends[-1])
        .group_by(Report.cluster_id)
    )
    return {cast(uuid.UUID, row[0]): [int(n) for n in row[1:]] for row in rows}


async def _latest_reports(
    session: AsyncSession, problem_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    rank = (
        func.row_number()
        .over(partition_by=Report.cluster_id, order_by=(Report.opened_at.desc(), Report.ticket_id))
        .label("rank")
    )
    ranked = (
        select(Report.cluster_id, Report.ticket_id, Report.subject, Report.channel, Report.opened_at, rank)
        .where(Report.cluster_id.in_(problem_ids))
        .subquery()
    )
    rows = await session.execute(
        select(ranked).where(ranked.c.rank <= LATEST_REPORTS).order_by(ranked.c.cluster_id, ranked.c.rank)
    )
    latest: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        latest.setdefault(row.cluster_id, []).append(
            {
                "ticket_id": str(row.ticket_id),
                "subject": row.subject,
                "channel": row.channel,
                "opened_at": iso(row.opened_at),
            }
        )
    return latest


async def _known_issues(session: AsyncSession, problem_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    issues = await session.scalars(
        select(KnownIssue).where(KnownIssue.problem_id.in_(problem_ids)).order_by(KnownIssue.updated_at)
    )
    # Ordered oldest first, so the most recently updated issue of a problem is the one kept (as the API shows).
    return {
        issue.problem_id: {
            "title": issue.title,
            "status": issue.status,
            "workaround": _cut(issue.workaround, RESOLUTION_CHARS),
            "fix": _cut(issue.fix, RESOLUTION_CHARS),
            "fix_version": issue.fix_version,
            "updated_at": iso(issue.updated_at),
        }
        for issue in issues
        if issue.problem_id is not None
    }


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def _cut(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"
