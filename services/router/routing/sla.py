"""First-response SLAs: a ticket without a response by its due time is escalated.

A timer, not a queue poll: every `sla_check_seconds` it looks (through an index) for tickets past their
due time that nobody has answered. On PostgreSQL, SKIP LOCKED lets several replicas share the sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import get_args

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.metrics import RouterMetrics
from services.router.routing import service as routing
from services.router.settings import RouterSettings
from services.router.tickets.life import SLA_CLOCK_STATUSES
from services.router.tickets.models import PRIORITY_RANK, Ticket
from shared.db import Database
from shared.events.catalogue import Channel, SlaBreached
from shared.messaging.outbox import add_events

log = logging.getLogger(__name__)
BATCH = 100


async def escalate_overdue(*, session: AsyncSession, now: datetime) -> list[tuple[Ticket, str]]:
    """Mark overdue tickets breached and escalate each: reassign if someone can take it, else tell the lead."""
    overdue = (
        await session.scalars(
            select(Ticket)
            .where(
                Ticket.first_response_due_at < now,
                Ticket.first_responded_at.is_(None),
                Ticket.sla_breached_at.is_(None),
                Ticket.status.in_(SLA_CLOCK_STATUSES),
            )
            .order_by(Ticket.first_response_due_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    ).all()
    escalated = []
    for ticket in overdue:
        ticket.sla_breached_at, ticket.updated_at = now, now
        breached_with = ticket.agent_id
        action = await _escalate(session, ticket, now)
        await add_events(
            session,
            SlaBreached(
                ticket_id=ticket.id,
                customer_id=ticket.customer_id,
                priority=ticket.priority,
                due_at=ticket.first_response_due_at or now,
                breached_at=now,
                agent_id=ticket.agent_id,
                action=action,
                previous_agent_id=breached_with if breached_with != ticket.agent_id else None,
            ),
        )
        escalated.append((ticket, action))
    return escalated


async def _escalate(session: AsyncSession, ticket: Ticket, now: datetime) -> str:
    if ticket.status == "open" and ticket.agent_id is not None:
        previous = ticket.agent_id
        ticket.agent_id = None
        decision = await routing.route_ticket(
            session=session, ticket=ticket, preferred=[], now=now, exclude=frozenset({previous})
        )
        if decision.agent_id is not None:
            await session.flush()
            await routing.offer_queue(session=session, agent_id=previous, now=now)
            return "reassigned"
        # Nobody else can take it: it stays with its agent, and the team lead hears of it.
        await routing.assign(
            session=session, ticket=ticket, agent_id=previous, rule="escalation", reason="no one else free", now=now
        )
        return "team_lead_notified"
    if ticket.agent_id is None and ticket.priority_rank < PRIORITY_RANK["urgent"]:
        ticket.priority_rank += 1  # a waiting ticket moves up the queue
        ticket.priority = next(name for name, rank in PRIORITY_RANK.items() if rank == ticket.priority_rank)
    return "team_lead_notified"


class SlaMonitor:
    """The background sweep; also refreshes the queue-depth gauge."""

    def __init__(self, *, database: Database, settings: RouterSettings, metrics: RouterMetrics) -> None:
        self.database, self.settings, self.metrics = database, settings, metrics
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="sla-monitor")

    async def stop(self) -> None:
        """Finish the sweep in hand (never cut a transaction off halfway), then stop."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def sweep(self) -> int:
        """One pass; returns how many tickets were escalated."""
        async with self.database.session() as session:
            escalated = await escalate_overdue(session=session, now=datetime.now(UTC))
            depth = await session.execute(
                select(Ticket.channel, func.count())
                .where(Ticket.status == "open", Ticket.agent_id.is_(None))
                .group_by(Ticket.channel)
            )
            await session.commit()
        counts = {channel: int(count) for channel, count in depth}
        for channel in get_args(Channel):
            self.metrics.queue_depth.labels(channel).set(counts.get(channel, 0))
        for ticket, action in escalated:
            self.metrics.sla_breaches.labels(ticket.priority, action).inc()
        return len(escalated)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("SLA sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.sla_check_seconds)
