"""First-contact resolution and what gets in its way, for a time range, overall and by dimension."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.agents.models import Agent
from services.router.tickets.models import Ticket, Transfer

DIMENSIONS = ("intent", "channel", "team")


async def first_contact_stats(
    *, session: AsyncSession, start: datetime, end: datetime, reopen_window: timedelta, group_by: str | None
) -> dict[str, Any]:
    """FCR rate, transfers per ticket by reason, time to assignment and queue depth, for [start, end)."""
    opened = (
        await session.execute(
            select(
                Ticket.id,
                Ticket.intent,
                Ticket.channel,
                Agent.team,
                Ticket.transfers,
                Ticket.opened_at,
                Ticket.first_assigned_at,
                Ticket.resolved_at,
                Ticket.reopened_at,
                Ticket.status,
            )
            .outerjoin(Agent, Agent.id == func.coalesce(Ticket.resolved_by, Ticket.agent_id))
            .where(Ticket.opened_at >= start, Ticket.opened_at < end)
        )
    ).all()
    transfers = (
        await session.execute(
            select(Transfer.ticket_id, Transfer.reason).where(Transfer.created_at >= start, Transfer.created_at < end)
        )
    ).all()
    queued = await session.execute(
        select(Ticket.channel, func.count())
        .where(Ticket.status == "open", Ticket.agent_id.is_(None))
        .group_by(Ticket.channel)
    )
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in opened:
        key = "all" if group_by is None else str(getattr(row, group_by) or "unknown")
        groups[key].append(row)
    ticket_group = {row.id: key for key, rows in groups.items() for row in rows if row.status != "cancelled"}
    return {
        "from": start,
        "to": end,
        "group_by": group_by,
        "queue_depth": {channel: int(count) for channel, count in queued},
        "groups": {
            key: _figures(rows, [t for t in transfers if ticket_group.get(t.ticket_id) == key], reopen_window)
            for key, rows in sorted(groups.items())
        },
    }


def _figures(rows: list[Any], transfers: list[Any], reopen_window: timedelta) -> dict[str, Any]:
    # A cancelled ticket (a duplicate, spam) was never a customer's issue to resolve: it counts for nothing else.
    cancelled = sum(r.status == "cancelled" for r in rows)
    rows = [r for r in rows if r.status != "cancelled"]
    resolved = [r for r in rows if r.resolved_at is not None]
    first_contact = [
        r
        for r in resolved
        if r.transfers == 0 and (r.reopened_at is None or r.reopened_at > r.resolved_at + reopen_window)
    ]
    waits = [(r.first_assigned_at - r.opened_at).total_seconds() for r in rows if r.first_assigned_at is not None]
    by_reason: dict[str, int] = defaultdict(int)
    for transfer in transfers:
        by_reason[transfer.reason] += 1
    return {
        "tickets": len(rows),
        "cancelled": cancelled,
        "resolved": len(resolved),
        "first_contact_resolved": len(first_contact),
        "fcr_rate": round(len(first_contact) / len(resolved), 4) if resolved else None,
        "transfers_per_ticket": round(len(transfers) / len(rows), 4) if rows else None,
        "transfers_by_reason": dict(sorted(by_reason.items())),
        "time_to_assignment_seconds": {
            "median": round(median(waits), 3) if waits else None,
            "mean": round(sum(waits) / len(waits), 3) if waits else None,
            "assigned": len(waits),
        },
    }
