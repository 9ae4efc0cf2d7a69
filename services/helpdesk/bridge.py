"""The bridge's background work: write effects to RT, read RT's changes back; on one replica at a time.

Two loops share the lease: the effect worker (woken by commits that staged effects, else every poll
interval) and the change reader (every poll interval). Neither stops on an error: an unavailable side
makes the work wait, and the loop tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from services.helpdesk import lease
from services.helpdesk.desk.port import HelpdeskUnavailable
from services.helpdesk.effects.service import STAGED_EFFECTS
from services.helpdesk.feedback.watch import FeedbackWatch
from services.helpdesk.inbound.reader import ChangeReader
from services.helpdesk.metrics import HelpdeskMetrics
from services.helpdesk.outbound.sides import Sides
from services.helpdesk.outbound.worker import EffectWorker
from shared.db import Database

log = logging.getLogger(__name__)


class Bridge:
    """The runtime component: started after migrations, stopped before the database closes."""

    def __init__(self, *, database: Database, sides: Sides, metrics: HelpdeskMetrics, loops: bool = True) -> None:
        self.database, self.sides, self.loops = database, sides, loops
        self.worker = EffectWorker(database=database, sides=sides, metrics=metrics)
        self.reader = ChangeReader(database=database, sides=sides, metrics=metrics)
        self.feedback = FeedbackWatch(database=database, sides=sides) if sides.notifier is not None else None
        self.holder = secrets.token_hex(8)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        database.on_commit(self._on_commit)

    def _on_commit(self, session: Session) -> None:
        if session.info.pop(STAGED_EFFECTS, False):
            self._wake.set()

    async def start(self) -> None:
        """Start the two loops (unless a test drives the worker and the reader itself)."""
        self._stopping = False
        if not self.loops:
            return
        self._tasks = [
            asyncio.create_task(self._loop(self.worker.run_once, woken=True), name="helpdesk-effects"),
            asyncio.create_task(self._loop(self.reader.read_once, woken=False), name="helpdesk-reader"),
        ]
        if self.feedback is not None:
            every = self.sides.settings.feedback_poll_seconds
            work = self._loop(self.feedback.run_once, woken=False, interval=every)
            self._tasks.append(asyncio.create_task(work, name="helpdesk-feedback"))

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            async with self.database.session() as session:
                await lease.release(session=session, holder=self.holder)
                await session.commit()
        await self.sides.helpdesk.aclose()
        await self.sides.router.aclose()
        if self.sides.notifier is not None:
            await self.sides.notifier.aclose()

    async def holds_lease(self) -> bool:
        async with self.database.session() as session:
            held = await lease.hold(
                session=session, holder=self.holder, now=datetime.now(UTC), seconds=self.sides.settings.lease_seconds
            )
            await session.commit()
        return held

    async def _loop(self, work: Callable[[], Awaitable[int]], *, woken: bool, interval: float | None = None) -> None:
        interval = interval or self.sides.settings.poll_interval_seconds
        while not self._stopping:
            try:
                if await self.holds_lease():
                    while await work() and not self._stopping and woken:
                        pass
            except HelpdeskUnavailable as exc:
                log.warning("helpdesk unavailable: %s", exc)
            except Exception:
                log.exception("helpdesk bridge cycle failed")
            if woken:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval)
                self._wake.clear()
            else:
                await asyncio.sleep(interval)
