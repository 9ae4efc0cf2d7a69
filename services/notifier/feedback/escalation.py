"""The loop that hands overdue feedback to the owners' leads (any replica; SKIP LOCKED shares the work)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from services.notifier.feedback import service as feedback_service
from services.notifier.settings import NotifierSettings
from shared.db import Database

log = logging.getLogger(__name__)


class FeedbackEscalator:
    """Every `feedback_escalation_check_seconds`, escalates the feedback undecided past its time."""

    def __init__(self, *, database: Database, settings: NotifierSettings) -> None:
        self.database, self.settings = database, settings
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="notifier-feedback-escalation")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def check(self, now: datetime | None = None) -> int:
        """One pass: how many were escalated."""
        async with self.database.session() as session:
            escalated = await feedback_service.escalate_overdue(
                session=session, settings=self.settings, now=now or datetime.now(UTC)
            )
            await session.commit()
        return escalated

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.check()
            except Exception:
                log.exception("escalating overdue feedback failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.feedback_escalation_check_seconds)
