"""The warning before an SLA breach: a ticket whose first response is due soon, told to its agent once.

The router's SLA sweep (routing/sla.py) acts when a due time has passed; this one speaks earlier, once
`at_risk_share` of the first-response time has gone by without a response. It needs no column of its own:
each warning's event id is derived from the ticket, its due time and its agent (SlaAtRisk), so the sweep
asks the outbox which warnings exist. Warnings are due within the hour that matters; the outbox keeps
rows for days (`FIRSTCALL_OUTBOX_RETENTION_HOURS`), so a warning is never written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Select, String, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.tickets.life import SLA_CLOCK_STATUSES
from services.router.tickets.models import Ticket
from shared.db import Database, one_of
from shared.events.desktop import SlaAtRisk, at_risk_event_id
from shared.messaging.outbox import add_events
from shared.messaging.tables import outbox

log = logging.getLogger(__name__)
PAGE = 500
# One sweeping replica at a time; any constant unique among the router's advisory locks.
AT_RISK_LOCK_KEY = 0x5A7215C0


async def warn_tickets_at_risk(
    *, session: AsyncSession, now: datetime, share: float, longest_sla: timedelta, sqlite: bool
) -> int:
    """Warn each agent once about a ticket of theirs whose first response is due soon; how many were warned."""
    warned, after = 0, None
    while True:
        page = (await session.execute(_due_soon(now, longest_sla * (1 - share), after))).all()
        at_risk = [
            SlaAtRisk(
                ticket_id=row.id,
                customer_id=row.customer_id,
                agent_id=row.agent_id,
                priority=row.priority,
                due_at=row.first_response_due_at,
                at_risk_at=now,
                elapsed_share=elapsed,
            )
            for row in page
            if (elapsed := _elapsed(row.opened_at, row.first_response_due_at, now)) >= share
        ]
        warned += await _warn_once(session, at_risk, sqlite=sqlite)
        if len(page) < PAGE:
            return warned
        after = (page[-1].first_response_due_at, page[-1].id)


def _due_soon(now: datetime, window: timedelta, after: tuple[datetime, uuid.UUID] | None) -> Select[Any]:
    """Unanswered assigned tickets due within `window`, soonest first, a page after `after`."""
    query = (
        select(Ticket.id, Ticket.customer_id, Ticket.agent_id, Ticket.priority)
        .add_columns(Ticket.opened_at, Ticket.first_response_due_at)
        .where(
            Ticket.first_response_due_at > now,
            Ticket.first_response_due_at <= now + window,
            Ticket.first_responded_at.is_(None),
            Ticket.sla_breached_at.is_(None),
            Ticket.status.in_(SLA_CLOCK_STATUSES),
            Ticket.agent_id.is_not(None),
        )
        .order_by(Ticket.first_response_due_at, Ticket.id)
        .limit(PAGE)
    )
    if after is not None:
        due, ticket_id = after
        last = tuple_(literal(due, Ticket.first_response_due_at.type), literal(ticket_id, Ticket.id.type))
        query = query.where(tuple_(Ticket.first_response_due_at, Ticket.id) > last)
    return query


def _elapsed(opened_at: datetime, due_at: datetime, now: datetime) -> float:
    total = (due_at - opened_at).total_seconds()
    return 1.0 if total <= 0 else min(max((now - opened_at).total_seconds() / total, 0.0), 1.0)


async def _warn_once(session: AsyncSession, at_risk: list[SlaAtRisk], *, sqlite: bool) -> int:
    if not at_risk:
        return 0
    ids = {at_risk_event_id(e.ticket_id, e.due_at, e.agent_id): e for e in at_risk}
    written = set(
        await session.scalars(
            select(outbox.c.event_id).where(one_of(outbox.c.event_id, list(ids), String(), sqlite=sqlite))
        )
    )
    fresh = [event for event_id, event in ids.items() if event_id not in written]
    await add_events(session, *fresh)
    return len(fresh)


class SlaRiskMonitor:
    """The background sweep: every `every` seconds, in one replica at a time."""

    def __init__(self, *, database: Database, share: float, longest_sla: timedelta, every: float) -> None:
        self.database, self.share, self.longest_sla, self.every = database, share, longest_sla, every
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="sla-at-risk")

    async def stop(self) -> None:
        """Finish the sweep in hand, then stop."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def sweep(self, now: datetime | None = None) -> int:
        """One pass; how many agents were warned (0 when another replica holds the sweep)."""
        sqlite = self.database.is_sqlite
        async with self.database.session() as session, session.begin():
            if not sqlite:
                lock = select(func.pg_try_advisory_xact_lock(AT_RISK_LOCK_KEY, type_=Boolean))
                if not await session.scalar(lock):
                    return 0
            return await warn_tickets_at_risk(
                session=session,
                now=now or datetime.now(UTC),
                share=self.share,
                longest_sla=self.longest_sla,
                sqlite=sqlite,
            )

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("SLA at-risk sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.every)
