"""Closing resolved tickets once they have been quiet: after that a returning customer gets a new ticket.

A periodic sweep like the SLA checker: every `close_check_seconds` it closes, in batches, the resolved
tickets nothing has changed for `close_after_days` (a reopen, a note, a correction each restart the
wait). SKIP LOCKED lets replicas share the sweep without closing a ticket twice. Closing is what makes
first-contact resolution final, so the quiet period should not be shorter than the FCR reopen window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.settings import RouterSettings
from services.router.tickets import transitions
from services.router.tickets.life import Trigger
from services.router.tickets.models import Ticket
from shared.db import Database

log = logging.getLogger(__name__)
BATCH = 200
ACTOR = "router:quiet-period"


async def close_quiet_tickets(*, session: AsyncSession, quiet: timedelta, now: datetime, batch: int = BATCH) -> int:
    """Close one batch of resolved tickets unchanged for `quiet`; returns how many were closed."""
    tickets = (
        await session.scalars(
            select(Ticket)
            .where(Ticket.status == "resolved", Ticket.updated_at < now - quiet)
            .order_by(Ticket.updated_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for ticket in tickets:
        await transitions.move(
            session=session,
            ticket=ticket,
            to="closed",
            trigger=Trigger.QUIET_PERIOD,
            actor=ACTOR,
            agent_id=None,
            now=now,
            reason=f"resolved and quiet for {quiet}",
        )
    return len(tickets)


class QuietPeriodCloser:
    """The background sweep (a runtime component)."""

    def __init__(self, *, database: Database, settings: RouterSettings, batch: int = BATCH) -> None:
        self.database, self.settings, self.batch = database, settings, batch
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="quiet-period-closer")

    async def stop(self) -> None:
        """Finish the batch in hand (never cut a transaction off halfway), then stop."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def sweep(self, now: datetime | None = None) -> int:
        """Close every ticket that is due, batch by batch; returns how many were closed."""
        quiet, closed = timedelta(days=self.settings.close_after_days), 0
        while True:
            async with self.database.session() as session:
                count = await close_quiet_tickets(
                    session=session, quiet=quiet, now=now or datetime.now(UTC), batch=self.batch
                )
                await session.commit()
            closed += count
            if count < self.batch or self._stop.is_set():
                return closed

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("quiet-period sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.close_check_seconds)
