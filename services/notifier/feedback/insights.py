"""Shared insight for a time range: what customers most needed, who owns it, what was decided, first
contact resolution as firstcall counts it beside what customers answered, and transfers by reason."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.feedback.models import FeedbackCluster, TicketQuestion
from services.notifier.insights import transfers
from services.notifier.problems.models import Problem

TOP = 10
MAX_ANSWERS = 100_000  # answers read for one range's figures: bounded, and far beyond a month of answers


async def insights(*, session: AsyncSession, start: datetime, end: datetime) -> dict[str, Any]:
    """The figures of `GET /v1/insights` for [start, end)."""
    problems = (
        await session.scalars(
            select(Problem)
            .where(Problem.last_seen >= start, Problem.first_seen < end, Problem.status != "merged")
            .order_by(Problem.customer_count.desc(), Problem.growth_per_hour.desc(), Problem.id)
            .limit(TOP)
        )
    ).all()
    clusters = (
        await session.scalars(
            select(FeedbackCluster)
            .where(FeedbackCluster.last_voice_at >= start, FeedbackCluster.created_at < end)
            .order_by(FeedbackCluster.customer_count.desc(), FeedbackCluster.last_voice_at.desc(), FeedbackCluster.id)
            .limit(TOP)
        )
    ).all()
    waiting = (
        await session.execute(
            select(FeedbackCluster.unowned, func.count())
            .where(FeedbackCluster.status == "open", FeedbackCluster.created_at < end)
            .group_by(FeedbackCluster.unowned)
        )
    ).all()
    answers = (
        await session.scalars(
            select(TicketQuestion)
            .where(TicketQuestion.answered_at >= start, TicketQuestion.answered_at < end)
            .limit(MAX_ANSWERS)
        )
    ).all()
    undecided = {bool(unowned): int(count) for unowned, count in waiting}
    return {
        "from": start,
        "to": end,
        "top_problems": [_problem(p) for p in problems],
        "top_feedback": [_cluster(c) for c in clusters],
        "feedback_waiting_for_a_decision": sum(undecided.values()),
        "feedback_waiting_for_an_owner": undecided.get(True, 0),
        "first_contact": {
            **fcr_figures(answers),
            "by_intent": _grouped(answers, "intent"),
            "by_team": _grouped(answers, "team"),
            "by_channel": _grouped(answers, "channel"),
        },
        "transfers": await transfers.transfer_figures(session=session, start=start, end=end),
    }


def fcr_figures(answers: Sequence[TicketQuestion]) -> dict[str, Any]:
    """Over the answered questions: the share firstcall counted as resolved at first contact, the share the
    customers said was, and the gap between them (firstcall's minus the customers')."""
    answered = len(answers)
    counted = sum(a.counted_first_contact for a in answers)
    said = sum(bool(a.resolved_first_contact) for a in answers)
    firstcall_rate = round(counted / answered, 4) if answered else None
    customer_rate = round(said / answered, 4) if answered else None
    return {
        "answered": answered,
        "counted_by_firstcall": counted,
        "said_by_customers": said,
        "fcr_rate_firstcall": firstcall_rate,
        "fcr_rate_customers": customer_rate,
        "gap": round(firstcall_rate - customer_rate, 4) if answered else None,  # type: ignore[operator]
        "disputed": sum(a.disputed for a in answers),
    }


def _grouped(answers: Sequence[TicketQuestion], column: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[TicketQuestion]] = defaultdict(list)
    for answer in answers:
        groups[str(getattr(answer, column) or "unknown")].append(answer)
    return {key: fcr_figures(group) for key, group in sorted(groups.items())}


def _problem(problem: Problem) -> dict[str, Any]:
    return {
        "id": problem.id,
        "summary": problem.summary_text,
        "status": problem.status,
        "severity": problem.severity,
        "customers": problem.customer_count,
        "growth_per_hour": problem.growth_per_hour,
        "resolution": problem.resolution,
    }


def _cluster(cluster: FeedbackCluster) -> dict[str, Any]:
    return {
        "id": cluster.id,
        "summary": cluster.summary_text,
        "owner": cluster.owner,
        "unowned": cluster.unowned,
        "customers": cluster.customer_count,
        "status": cluster.status,
        "decision": cluster.decision,
        "change": cluster.change,
        "reason": cluster.reason,
        "decided_at": cluster.decided_at,
        "escalated_to": cluster.escalated_to,
    }
