"""Transfers by reason, by intent, team and channel: every transfer is a first contact that did not resolve,
and its reason says what would have let the first agent finish (a skill, an authority, the right intent)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.desktop import projection
from services.notifier.insights.models import TicketTransfer
from services.notifier.reports.models import Report
from shared.events.catalogue import TicketTransferred

UNKNOWN = "unknown"
DIMENSIONS = ("intent", "team", "channel")


async def record_transfer(*, session: AsyncSession, event: TicketTransferred) -> None:
    """Keep a transfer with the ticket's intent and channel (from its report: the router's event carries
    neither) and the team it left; the same transfer twice is one row."""
    report = await session.get(Report, event.ticket_id)
    agents = [event.from_agent_id] if event.from_agent_id else []
    teams = await projection.teams_of(session=session, agent_ids=agents)
    await session.merge(
        TicketTransfer(
            ticket_id=event.ticket_id,
            transferred_at=event.transferred_at,
            reason=event.reason,
            intent=report.intent if report is not None else None,
            team=teams.get(event.from_agent_id) if event.from_agent_id else None,
            channel=report.channel if report is not None else None,
        )
    )


async def transfer_figures(*, session: AsyncSession, start: datetime, end: datetime) -> dict[str, Any]:
    """The transfers in [start, end): how many, by reason, and by reason within each intent, team, channel."""
    rows = (
        await session.execute(
            select(
                TicketTransfer.reason,
                TicketTransfer.intent,
                TicketTransfer.team,
                TicketTransfer.channel,
                func.count(),
            )
            .where(TicketTransfer.transferred_at >= start, TicketTransfer.transferred_at < end)
            .group_by(TicketTransfer.reason, TicketTransfer.intent, TicketTransfer.team, TicketTransfer.channel)
        )
    ).all()
    by_reason: dict[str, int] = defaultdict(int)
    grouped: dict[str, dict[str, dict[str, int]]] = {dimension: {} for dimension in DIMENSIONS}
    for reason, intent, team, channel, count in rows:
        by_reason[reason] += count
        for dimension, value in zip(DIMENSIONS, (intent, team, channel), strict=True):
            reasons = grouped[dimension].setdefault(value or UNKNOWN, {})
            reasons[reason] = reasons.get(reason, 0) + count
    return {
        "total": sum(by_reason.values()),
        "by_reason": dict(sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))),
        **{f"by_{dimension}": dict(sorted(grouped[dimension].items())) for dimension in DIMENSIONS},
    }


async def transfer_counts(*, session: AsyncSession) -> list[tuple[str, str, str, str, int]]:
    """Every transfer so far, counted by (reason, intent, team, channel): the Prometheus series."""
    rows = await session.execute(
        select(
            TicketTransfer.reason, TicketTransfer.intent, TicketTransfer.team, TicketTransfer.channel, func.count()
        ).group_by(TicketTransfer.reason, TicketTransfer.intent, TicketTransfer.team, TicketTransfer.channel)
    )
    return [(r, i or UNKNOWN, t or UNKNOWN, c or UNKNOWN, int(n)) for r, i, t, c, n in rows]
