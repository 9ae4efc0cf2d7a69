"""Reading RT back: TicketSQL on LastUpdated from a persisted cursor, then each ticket's new transactions.

Per ticket the bridge keeps the last transaction it read (`rt_last_change_id`): an action is applied, then
that mark moves past it in the same commit, so a restart neither repeats nor skips one (the router call is
keyed by the transaction, for the crash between its answer and the commit). The bridge's own changes move
the mark without being applied: they are what firstcall already decided. Young actions wait a poll (a
form's fields arrive one by one). While the router is down, nothing moves: RT's changes wait behind the
cursor and the marks, in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.desk.port import ChangedTicket, HelpdeskRejected
from services.helpdesk.effects import service as effects
from services.helpdesk.firstcall.client import RouterUnavailable
from services.helpdesk.inbound.actions import group
from services.helpdesk.inbound.apply import apply_action
from services.helpdesk.inbound.models import SyncCursor
from services.helpdesk.links import service as links
from services.helpdesk.metrics import HelpdeskMetrics
from services.helpdesk.outbound.sides import Sides
from shared.db import Database

log = logging.getLogger(__name__)
CURSOR = "rt.tickets.last_updated"
PAGE = 100
LAST_UPDATED_RESOLUTION = timedelta(seconds=1)  # RT stores its dates to the second


@dataclass
class ReadResult:
    finished: bool  # every settled change of the ticket is read
    router_down: bool = False


class ChangeReader:
    def __init__(self, *, database: Database, sides: Sides, metrics: HelpdeskMetrics) -> None:
        self.database, self.sides, self.metrics = database, sides, metrics

    async def read_once(self) -> int:
        """One round over the tickets changed since the cursor; how many actions were applied."""
        settings = self.sides.settings
        async with self.database.session() as session:
            cursor = await _cursor(session)
        since = (cursor or datetime.now(UTC)) - timedelta(seconds=settings.poll_overlap_seconds)
        applied, page, round_start, unfinished = 0, 1, None, []
        while True:
            changed = await self.sides.helpdesk.changed_tickets(since=since, limit=PAGE, page=page)
            round_start = round_start or changed.now
            settled_before = changed.now - timedelta(seconds=settings.settle_seconds)
            for ticket in changed.tickets:
                try:
                    result, count = await self._read_ticket(ticket, settled_before)
                except HelpdeskRejected as exc:
                    # One ticket RT will not show (deleted, rights taken away) must not hold back the others.
                    log.error("RT ticket %s cannot be read back; left out until it changes again: %s", ticket.id, exc)
                    self.metrics.actions.labels("unreadable").inc()
                    continue
                applied += count
                if not result.finished:
                    unfinished.append(ticket.updated_at)
                if result.router_down:
                    return applied  # everything waits: the cursor stays where it was
            if changed.complete:
                break
            page += 1
        await self._advance(min([round_start, *unfinished]))
        self.metrics.reachable.labels("rt").set(1)
        return applied

    async def _advance(self, to: datetime) -> None:
        async with self.database.session() as session:
            row = await session.get(SyncCursor, CURSOR)
            now = datetime.now(UTC)
            if row is None:
                session.add(SyncCursor(name=CURSOR, value=to, updated_at=now))
            else:
                row.value, row.updated_at = to, now
            await session.commit()
        self.metrics.cursor_lag.set(max((datetime.now(UTC) - to).total_seconds(), 0))

    async def _read_ticket(self, ticket: ChangedTicket, settled_before: datetime) -> tuple[ReadResult, int]:
        desk, applied = self.sides.helpdesk, 0
        async with self.database.session() as session:
            link = await links.link_of_rt_ticket(session=session, rt_ticket_id=ticket.id)
            if link is None or link.rt_last_updated == ticket.updated_at:
                return ReadResult(finished=True), 0
            while True:
                changes = await desk.changes(ticket.id, after=link.rt_last_change_id, limit=PAGE)
                if not changes:
                    # Skipping the ticket while LastUpdated stays put is safe only once its second is settled:
                    # RT keeps seconds, and bumps LastUpdated before some changes' transactions can be read.
                    settled = ticket.updated_at + LAST_UPDATED_RESOLUTION <= settled_before
                    if settled:
                        link.rt_last_updated = ticket.updated_at
                    await effects.wake(session=session, ticket_id=link.ticket_id, now=datetime.now(UTC))
                    await session.commit()
                    return ReadResult(finished=settled), applied
                actions = group(changes)
                if len(changes) == PAGE and len(actions) > 1:
                    actions = actions[:-1]  # may go on in the next page
                for action in actions:
                    if action.at > settled_before:
                        self.metrics.actions.labels("waiting").inc()
                        return ReadResult(finished=False), applied
                    if action.author != desk.integration_user:
                        try:
                            await apply_action(
                                session=session,
                                helpdesk=desk,
                                router=self.sides.router,
                                link=link,
                                action=action,
                                now=datetime.now(UTC),
                            )
                        except RouterUnavailable as exc:
                            await session.rollback()
                            self.metrics.reachable.labels("router").set(0)
                            log.warning("RT ticket %s: firstcall unavailable, its changes wait: %s", ticket.id, exc)
                            return ReadResult(finished=False, router_down=True), applied
                        applied += 1
                    self.metrics.actions.labels("applied" if action.author != desk.integration_user else "own").inc()
                    link.rt_last_change_id = action.last_id
                    await session.commit()


async def _cursor(session: AsyncSession) -> datetime | None:
    row = await session.get(SyncCursor, CURSOR)
    return row.value if row else None
