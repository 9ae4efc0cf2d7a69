"""The picture of a problem that every problem event carries: summary, counts, spread and growth.

Counts, first and last seen, intents and products are kept on the problem row and moved by each report
that joins (`count_joined`), and growth is read over the recent stretch alone, through the reports'
indexes: a report joining a crisis of thousands costs what joining a fresh problem does. Merges and
splits, which ops make by hand, count the members again (`recount`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.notifier.detection.similarity import ReportVector, pairwise
from services.notifier.problems.models import Problem
from services.notifier.problems.sealing import Representative
from services.notifier.reports.models import Report

MEDOID_SAMPLE = 50  # the summary is chosen among this many recent members: enough, and bounded
REPRESENTATIVES = 3
EXCERPT_CHARS = 280


@dataclass(frozen=True)
class Member:
    """What a problem needs of each member report (not its text or vectors: a crisis has thousands)."""

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    customer_name: str | None
    channel: str
    subject: str
    opened_at: datetime
    intent: str | None
    product: str | None
    resolved_at: datetime | None


_MEMBER_COLUMNS = [getattr(Report, name) for name in Member.__dataclass_fields__]


@dataclass(frozen=True)
class ProblemPicture:
    growth_per_hour: float
    summary_text: str
    representative_ticket_id: uuid.UUID | None
    representatives: list[Representative]
    summary_author: uuid.UUID | None = None  # whose words the summary is (None: not known)

    def event_fields(self, problem: Problem, reports: list[str], summary: str) -> dict[str, Any]:
        """The ProblemState fields of an event about this problem (counted on the problem row), with the
        summary and the representatives' reports as the event carries them (sealed per author:
        problems/sealing.py)."""
        return {
            "problem_id": problem.id,
            "summary_text": summary,
            "representative_reports": reports,
            "customer_count": problem.customer_count,
            "report_count": problem.report_count,
            "first_seen": problem.first_seen,
            "last_seen": problem.last_seen,
            "intents": list(problem.intents),
            "products": list(problem.products),
            "growth_per_hour": round(self.growth_per_hour, 3),
            "severity": problem.severity,
        }


async def members_of(session: AsyncSession, problem_id: uuid.UUID) -> list[Member]:
    """The reports of a cluster, oldest first: for what touches every member (detail, resolution)."""
    rows = await session.execute(
        select(*_MEMBER_COLUMNS).where(Report.cluster_id == problem_id).order_by(Report.opened_at, Report.ticket_id)
    )
    return [Member(*row) for row in rows]


async def first_report_of(session: AsyncSession, problem_id: uuid.UUID, customer_id: uuid.UUID) -> Member | None:
    """A customer's earliest report in a cluster (one index lookup), the one they are told about."""
    row = (
        await session.execute(
            select(*_MEMBER_COLUMNS)
            .where(Report.cluster_id == problem_id, Report.customer_id == customer_id)
            .order_by(Report.opened_at, Report.ticket_id)
            .limit(1)
        )
    ).first()
    return Member(*row) if row is not None else None


async def member_ticket_ids(session: AsyncSession, problem_id: uuid.UUID) -> list[uuid.UUID]:
    """Every member ticket, oldest first: for the events that list them (detected, escalated)."""
    rows = await session.scalars(
        select(Report.ticket_id).where(Report.cluster_id == problem_id).order_by(Report.opened_at, Report.ticket_id)
    )
    return list(rows)


@dataclass(frozen=True)
class Sampled:
    """What the summary's choice reads of a recent member: who wrote it, its words and its vectors."""

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    subject: str
    text: str
    features: bytes | None
    embedding: bytes | None


_SAMPLED_COLUMNS = [getattr(Report, name) for name in Sampled.__dataclass_fields__]


async def latest_reports(session: AsyncSession, problem_id: uuid.UUID, limit: int) -> list[Sampled]:
    """The most recent reports of a cluster, as the summary's choice reads them. Columns, not Report
    objects: fifty of those built at every join, and then looked over by every flush of the transaction,
    cost more than the rest of the picture (decision 0044)."""
    rows = await session.execute(
        select(*_SAMPLED_COLUMNS).where(Report.cluster_id == problem_id).order_by(Report.opened_at.desc()).limit(limit)
    )
    return [Sampled(*row) for row in rows]


async def count_joined(session: AsyncSession, problem: Problem, ticket_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Add reports that have just joined the cluster to its counts, spread, intents and products; returns
    their customers (whom the acknowledgement then concerns)."""
    # A customer is new to the problem when none of their other reports is in it: one index probe each,
    # in the statement that reads the joining reports (a join's round trips are most of its cost).
    earlier = aliased(Report)
    known = (
        exists()
        .where(earlier.cluster_id == problem.id, earlier.customer_id == Report.customer_id)
        .where(earlier.ticket_id.not_in(ticket_ids))
    )
    rows = (
        await session.execute(
            select(Report.opened_at, Report.intent, Report.product, Report.customer_id, known.label("known")).where(
                Report.ticket_id.in_(ticket_ids)
            )
        )
    ).all()
    if not rows:
        return set()
    problem.report_count += len(rows)
    problem.customer_count += len({row.customer_id for row in rows if not row.known})
    problem.first_seen = min(problem.first_seen, *(row.opened_at for row in rows))
    problem.last_seen = max(problem.last_seen, *(row.opened_at for row in rows))
    # New lists, not appends: the ORM notices a JSON column change only when the value is replaced.
    problem.intents = sorted({*problem.intents, *(row.intent for row in rows if row.intent)})
    problem.products = sorted({*problem.products, *(row.product for row in rows if row.product)})
    return {row.customer_id for row in rows}


async def recount(session: AsyncSession, problem: Problem) -> None:
    """Count a cluster's members again, after ops moved many at once (merge, split)."""
    in_cluster = Report.cluster_id == problem.id
    reports, customers, first, last = (
        await session.execute(
            select(
                func.count(),
                func.count(func.distinct(Report.customer_id)),
                func.min(Report.opened_at),
                func.max(Report.opened_at),
            ).where(in_cluster)
        )
    ).one()
    problem.report_count, problem.customer_count = int(reports), int(customers)
    if first is not None:
        problem.first_seen, problem.last_seen = first, last
    intents = await session.scalars(select(Report.intent).where(in_cluster, Report.intent.is_not(None)).distinct())
    products = await session.scalars(select(Report.product).where(in_cluster, Report.product.is_not(None)).distinct())
    problem.intents = sorted(value for value in intents if value)
    problem.products = sorted(value for value in products if value)


async def customers_since(session: AsyncSession, problem_id: uuid.UUID, since: datetime) -> int:
    """Distinct customers with a report in the cluster opened at or after `since`."""
    count = await session.scalar(
        select(func.count(func.distinct(Report.customer_id))).where(
            Report.cluster_id == problem_id, Report.opened_at >= since
        )
    )
    return int(count or 0)


async def growth_per_hour(session: AsyncSession, problem: Problem, *, now: datetime, stretch: timedelta) -> float:
    """Customers who first reported in the cluster within the stretch before its latest report, per hour.

    Measured from the latest report rather than the one being handled: reports arrive out of order across
    partitions, and a late-handled early report must not make later ones look recent. Only the stretch's
    reports are read (each with one index probe for an earlier report of its customer), not the cluster's.
    """
    since = max(now, problem.last_seen) - stretch
    earlier = aliased(Report)
    seen_before = exists().where(
        earlier.cluster_id == problem.id, earlier.customer_id == Report.customer_id, earlier.opened_at <= since
    )
    recent = await session.scalar(
        select(func.count(func.distinct(Report.customer_id))).where(
            Report.cluster_id == problem.id, Report.opened_at > since, ~seen_before
        )
    )
    return int(recent or 0) / (stretch.total_seconds() / 3600)


async def picture(
    session: AsyncSession, problem: Problem, *, now: datetime, growth_stretch: timedelta, meaning_weight: float = 0.0
) -> ProblemPicture:
    """A problem's growth and representative summary; its counts are on its row already."""
    growth = await growth_per_hour(session, problem, now=now, stretch=growth_stretch)
    ranked = _most_central(await latest_reports(session, problem.id, MEDOID_SAMPLE), meaning_weight)
    representative = ranked[0] if ranked else None
    return ProblemPicture(
        growth_per_hour=growth,
        summary_text=representative.subject if representative else problem.summary_text,
        representative_ticket_id=representative.ticket_id if representative else None,
        representatives=[Representative(m.customer_id, _excerpt(m)) for m in _one_per_customer(ranked)],
        summary_author=representative.customer_id if representative else None,
    )


def _one_per_customer(ranked: list[Sampled]) -> list[Sampled]:
    """The best REPRESENTATIVES members of different customers: a problem event's reports are then three
    people's words, which knowledge's drafts rely on (a word three reports share is no one customer's)."""
    chosen: list[Sampled] = []
    customers: set[uuid.UUID] = set()
    for member in ranked:
        if member.customer_id not in customers:
            chosen.append(member)
            customers.add(member.customer_id)
            if len(chosen) == REPRESENTATIVES:
                break
    return chosen


def _most_central(members: list[Sampled], meaning_weight: float) -> list[Sampled]:
    """Members ordered by how well each speaks for the others (mean similarity), best first."""
    sample = [m for m in members if m.features is not None]
    if len(sample) < 2:
        return sample or members[:1]
    vectors = [ReportVector.from_row(m.features, m.embedding) for m in sample if m.features is not None]
    scores = pairwise(vectors, meaning_weight=meaning_weight)
    np.fill_diagonal(scores, 0.0)
    order = np.argsort(-scores.mean(axis=1), kind="stable")
    return [sample[i] for i in order.tolist()]


def _excerpt(report: Sampled) -> str:
    text = " ".join(report.text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
