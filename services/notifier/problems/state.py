"""The picture of a problem that every problem event carries: summary, counts, spread and growth."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.detection.similarity import ReportVector, pairwise
from services.notifier.problems.models import Problem
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
    members: list[Member]
    customer_count: int
    growth_per_hour: float
    summary_text: str
    representative_ticket_id: uuid.UUID | None
    representative_reports: list[str]

    def event_fields(self, problem: Problem) -> dict[str, Any]:
        """The ProblemState fields of an event about this problem."""
        return {
            "problem_id": problem.id,
            "summary_text": self.summary_text,
            "representative_reports": self.representative_reports,
            "ticket_ids": [member.ticket_id for member in self.members],
            "customer_count": self.customer_count,
            "report_count": len(self.members),
            "first_seen": problem.first_seen,
            "last_seen": problem.last_seen,
            "intents": sorted({m.intent for m in self.members if m.intent}),
            "products": sorted({m.product for m in self.members if m.product}),
            "growth_per_hour": round(self.growth_per_hour, 3),
            "severity": problem.severity,
        }


async def members_of(session: AsyncSession, problem_id: uuid.UUID) -> list[Member]:
    """The reports of a cluster, oldest first."""
    rows = await session.execute(
        select(*_MEMBER_COLUMNS).where(Report.cluster_id == problem_id).order_by(Report.opened_at, Report.ticket_id)
    )
    return [Member(*row) for row in rows]


async def latest_reports(session: AsyncSession, problem_id: uuid.UUID, limit: int) -> list[Report]:
    """The most recent reports of a cluster, whole (text and vectors)."""
    rows = await session.scalars(
        select(Report).where(Report.cluster_id == problem_id).order_by(Report.opened_at.desc()).limit(limit)
    )
    return list(rows)


def customers_since(members: list[Member], since: datetime) -> int:
    """Distinct customers with a report in the cluster opened at or after `since`."""
    return len({m.customer_id for m in members if m.opened_at >= since})


def growth_per_hour(members: list[Member], *, now: datetime, stretch: timedelta) -> float:
    """Customers who first reported within the stretch before the latest report, per hour.

    Measured from the latest report rather than the one being handled: reports arrive out of order across
    partitions, and a late-handled early report must not make later ones look recent.
    """
    first: dict[uuid.UUID, datetime] = {}
    for member in members:
        first[member.customer_id] = min(first.get(member.customer_id, member.opened_at), member.opened_at)
    latest = max([now, *first.values()])
    recent = sum(1 for opened in first.values() if opened > latest - stretch)
    return recent / (stretch.total_seconds() / 3600)


async def picture(
    session: AsyncSession, problem: Problem, *, now: datetime, growth_stretch: timedelta, meaning_weight: float = 0.0
) -> ProblemPicture:
    """Refresh a problem's counts, first/last seen, growth and representative summary from its members."""
    members = await members_of(session, problem.id)
    if members:
        problem.first_seen = members[0].opened_at
        problem.last_seen = members[-1].opened_at
    growth = growth_per_hour(members, now=now, stretch=growth_stretch)
    ranked = _most_central(await latest_reports(session, problem.id, MEDOID_SAMPLE), meaning_weight)
    representative = ranked[0] if ranked else None
    return ProblemPicture(
        members=members,
        customer_count=len({m.customer_id for m in members}),
        growth_per_hour=growth,
        summary_text=representative.subject if representative else problem.summary_text,
        representative_ticket_id=representative.ticket_id if representative else None,
        representative_reports=[_excerpt(m) for m in ranked[:REPRESENTATIVES]],
    )


def _most_central(members: list[Report], meaning_weight: float) -> list[Report]:
    """Members ordered by how well each speaks for the others (mean similarity), best first."""
    sample = [m for m in members if m.features is not None]
    if len(sample) < 2:
        return sample or members[:1]
    vectors = [ReportVector.from_row(m.features, m.embedding) for m in sample if m.features is not None]
    scores = pairwise(vectors, meaning_weight=meaning_weight)
    np.fill_diagonal(scores, 0.0)
    order = np.argsort(-scores.mean(axis=1), kind="stable")
    return [sample[i] for i in order.tolist()]


def _excerpt(report: Report) -> str:
    text = " ".join(report.text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
