"""This process's reading of the router's outbox as it grows: the settled position, and recent notices.

Every router event is already a committed row of the outbox, numbered in order and kept
`FIRSTCALL_OUTBOX_RETENTION_HOURS` after it is published, on SQLite and on PostgreSQL alike; so a desktop
stream needs no broker, no table of its own and no migration. One reader per process follows the table
(woken by this process's commits, polling for other replicas'), settles positions (horizon.py), and keeps
the latest notices in memory per agent; a stream asks it for what concerns its agent after its cursor.
What fell out of memory, or came before the process started, is read from the table again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Row, String, bindparam, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.router.desktop.config import DesktopPushConfig
from services.router.desktop.horizon import Horizon
from services.router.desktop.notices import EVENT_TYPES, Notice, notices_of, read_notices, relevant_envelope
from shared.db import Database
from shared.messaging.tables import outbox

log = logging.getLogger(__name__)
# Positions below the newest at start that are taken as settled: a transaction does not stay between its
# outbox INSERT and its COMMIT while this many later events commit. Above it, holes are waited on.
STARTUP_WINDOW = 10_000
SLOW_HOLE_SECONDS = 10.0

# The rows after a position and the statement's own snapshot, in one statement (horizon.py says why).
_READ_POSTGRES = text(
    """
    SELECT s.xmin, s.xmax, o.seq, o.event_type, o.envelope
    FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
                 pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax) AS s
    LEFT JOIN LATERAL (
        SELECT seq, event_type, CASE WHEN event_type = ANY(:types) THEN envelope END AS envelope
        FROM outbox WHERE seq > :after ORDER BY seq LIMIT :limit
    ) AS o ON true
    ORDER BY o.seq
    """
).bindparams(
    bindparam("types", value=list(EVENT_TYPES), type_=postgresql.ARRAY(String())),
    bindparam("after", type_=BigInteger()),
    bindparam("limit", type_=BigInteger()),
)


@dataclass(frozen=True)
class Read:
    rows: Sequence[Row[*tuple[Any, ...]]]
    xmin: int | None
    xmax: int | None


class OutboxTail:
    """Follows the outbox: `position` is settled, and the notices after `complete_from` are in memory."""

    def __init__(self, *, database: Database, config: DesktopPushConfig) -> None:
        self.database, self.config = database, config
        self.sqlite = database.is_sqlite
        self.horizon = Horizon(0, grace=config.gap_grace_seconds, holes_may_fill=not self.sqlite)
        self.position = 0  # published only once the notices up to it are in memory
        self.epoch = 0  # moves when the numbering restarted: streams reset their cursor
        self.closed = False
        self._start = 0
        self._order: deque[Notice] = deque()
        self._by_agent: dict[str, deque[Notice]] = {}
        self._dropped_through: dict[str, int] = {}
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self.streams = 0
        self._wake = asyncio.Event()
        self._reading = asyncio.Lock()  # the loop and a stream's catch_up take turns: each row is kept once
        self._task: asyncio.Task[None] | None = None
        self._warned_at = 0.0
        database.on_commit(self._on_commit)

    def _on_commit(self, _: Session) -> None:
        if self.streams:
            self._wake.set()

    async def start(self) -> None:
        async with self.database.session() as session:
            newest = await session.scalar(select(func.max(outbox.c.seq)))
        start = int(newest or 0) if self.sqlite else max(int(newest or 0) - STARTUP_WINDOW, 0)
        self.horizon.restart(start)
        self._start = self.position = start
        self.closed = False
        self._task = asyncio.create_task(self._run(), name="desktop-outbox-tail")

    async def stop(self) -> None:
        self.closed = True
        self._wake.set()
        self._wake_all()
        if self._task is not None:
            await self._task
            self._task = None

    def complete_from(self, agent_id: str) -> int:
        """Every notice for the agent after this position is in memory."""
        return max(self._start, self._dropped_through.get(agent_id, 0))

    async def notices_for(self, agent_id: str, after: int) -> tuple[list[Notice], int]:
        """The agent's notices after `after`, at most a page of them; and the position they cover up to."""
        position, complete_from = self.position, self.complete_from(agent_id)
        if after < complete_from:
            async with self.database.session() as session:
                notices, reached = await read_notices(
                    session, after=after, upto=complete_from, limit=self.config.page_size, sqlite=self.sqlite
                )
            return [notice for notice in notices if agent_id in notice.concerns], reached
        kept = self._by_agent.get(agent_id, ())
        return [notice for notice in kept if after < notice.seq <= position], position

    async def wait(self, agent_id: str, after: int, timeout: float) -> bool:
        """Until a notice for the agent after `after` is in memory (True), or `timeout` passes (False)."""
        kept = self._by_agent.get(agent_id)
        if self.closed or (kept and kept[-1].seq > after):
            return True
        woken = asyncio.Event()
        self._waiters.setdefault(agent_id, set()).add(woken)
        try:
            async with asyncio.timeout(timeout):
                await woken.wait()
        except TimeoutError:
            return False
        finally:
            waiting = self._waiters.get(agent_id)
            if waiting is not None:
                waiting.discard(woken)
                if not waiting:
                    del self._waiters[agent_id]
        return True

    async def _run(self) -> None:
        while not self.closed:
            interval = self.config.poll_seconds if self.streams else self.config.idle_poll_seconds
            woken = False
            with contextlib.suppress(TimeoutError):
                woken = await asyncio.wait_for(self._wake.wait(), interval)
            if woken and self.config.coalesce_seconds > 0:
                await asyncio.sleep(self.config.coalesce_seconds)  # the commits right behind, in one read
            self._wake.clear()
            try:
                await self.catch_up()
            except Exception:
                # A database hiccup must not end the tail; the rows are still there next time.
                log.exception("desktop outbox tail: reading the outbox failed")

    async def catch_up(self) -> int:
        """Keep what is settled now, without waiting for the next poll; the new position."""
        while not self.closed and await self.advance():
            pass
        return self.position

    async def advance(self) -> bool:
        """Read once after the horizon and keep what settled; True if a whole batch did (more may follow)."""
        async with self._reading:
            return await self._advance(self.config.page_size)

    async def _advance(self, limit: int) -> bool:
        async with self.database.session() as session:
            read = await self._read(session, limit)
            if self.sqlite and not read.rows and await self._numbering_restarted(session):
                return False
            now = time.monotonic()
            count = self.horizon.settled_prefix([row.seq for row in read.rows], xmin=read.xmin, xmax=read.xmax, now=now)
            notices = await notices_of(session, read.rows[:count], sqlite=self.sqlite)
        self._warn_if_held(now, read.xmin)
        if count:
            self.horizon.move_to(read.rows[count - 1].seq)
            self._keep(notices, self.horizon.value)
        return count == limit

    async def _read(self, session: AsyncSession, limit: int) -> Read:
        after = self.horizon.value
        if self.sqlite:
            rows = (
                await session.execute(
                    select(outbox.c.seq, outbox.c.event_type, relevant_envelope().label("envelope"))
                    .where(outbox.c.seq > after)
                    .order_by(outbox.c.seq)
                    .limit(limit)
                )
            ).all()
            return Read(rows, None, None)
        result = (await session.execute(_READ_POSTGRES, {"after": after, "limit": limit})).all()
        return Read([row for row in result if row.seq is not None], int(result[0].xmin), int(result[0].xmax))

    async def _numbering_restarted(self, session: AsyncSession) -> bool:
        """SQLite numbers a row after the highest present: once retention emptied the table, numbers restart.

        Seen as an empty table (the next row is number 1), or as a table whose newest row is below the horizon.
        """
        newest = await session.scalar(select(func.max(outbox.c.seq)))
        if self.horizon.value == 0 or (newest is not None and int(newest) >= self.horizon.value):
            return False
        log.warning("the outbox numbering restarted (%s after %s): desktop streams start over", newest, self.position)
        self.horizon.restart(0)
        self._start = self.position = 0
        self._order.clear()
        self._by_agent.clear()
        self._dropped_through.clear()
        self.epoch += 1
        self._wake_all()
        return True

    def _keep(self, notices: Sequence[Notice], position: int) -> None:
        """Notices into memory, the oldest out past `ring_size`, then the new position, then the waiters."""
        touched: set[str] = set()
        for notice in notices:
            self._order.append(notice)
            for agent_id in notice.concerns:
                self._by_agent.setdefault(agent_id, deque()).append(notice)
                touched.add(agent_id)
        while len(self._order) > self.config.ring_size:
            dropped = self._order.popleft()
            for agent_id in dropped.concerns:
                kept = self._by_agent[agent_id]
                kept.popleft()
                self._dropped_through[agent_id] = dropped.seq
                if not kept:
                    del self._by_agent[agent_id]
        self.position = position
        for agent_id in touched:
            for woken in self._waiters.get(agent_id, ()):
                woken.set()

    def _wake_all(self) -> None:
        for waiting in self._waiters.values():
            for woken in waiting:
                woken.set()

    def _warn_if_held(self, now: float, xmin: int | None) -> None:
        held = self.horizon.oldest_hole_age(now)
        if held >= SLOW_HOLE_SECONDS and now - self._warned_at >= 60:
            self._warned_at = now
            log.warning(
                "desktop streams held %.0f s by an outbox position not yet committed nor given up: "
                "a writing transaction is still running (oldest xid %s)",
                held,
                xmin,
            )
