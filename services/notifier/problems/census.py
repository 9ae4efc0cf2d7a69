"""How many problems are not resolved yet, by severity, for the firstcall_notifier_problems_open gauge."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import func, select

from services.notifier.metrics import NotifierMetrics
from services.notifier.problems.models import ACTIVE_STATUSES, Problem
from shared.db import Database

log = logging.getLogger(__name__)
SEVERITIES = ("minor", "major")


class ProblemCensus:
    """Counts the forming and open problems every `interval` seconds (one indexed count per severity)."""

    def __init__(self, *, database: Database, metrics: NotifierMetrics, interval: float = 15.0) -> None:
        self.database, self.metrics, self.interval = database, metrics, interval
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="notifier-problem-census")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def count(self) -> None:
        async with self.database.session() as session:
            rows = await session.execute(
                select(Problem.severity, func.count())
                .where(Problem.status.in_(ACTIVE_STATUSES))
                .group_by(Problem.severity)
            )
        counts = {severity: int(n) for severity, n in rows}
        for severity in SEVERITIES:
            self.metrics.problems_open.labels(severity).set(counts.get(severity, 0))

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.count()
            except Exception:
                log.exception("counting open problems failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
