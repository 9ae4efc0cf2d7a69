"""The loop that hands overdue feedback to the owners' leads (any replica; SKIP LOCKED shares the work), and
counts feedback, answers and transfers for Prometheus as it goes (the counts of GET /v1/insights, over all time)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.feedback import service as feedback_service
from services.notifier.feedback.models import FeedbackCluster, TicketQuestion
from services.notifier.insights import transfers
from services.notifier.settings import NotifierSettings
from shared.db import Database

log = logging.getLogger(__name__)


class FeedbackEscalator:
    """Every `feedback_escalation_check_seconds`, escalates the feedback undecided past its time."""

    def __init__(
        self, *, database: Database, settings: NotifierSettings, registry: CollectorRegistry | None = None
    ) -> None:
        self.database, self.settings = database, settings
        registry = registry or CollectorRegistry()  # never the process-wide default: services share a process
        self.clusters = Gauge(
            "firstcall_notifier_feedback_clusters",
            "Feedback clusters, by status (open, decided), decision and whether an owner was mapped",
            ["status", "decision", "owned"],
            registry=registry,
        )
        self.answers = Gauge(
            "firstcall_notifier_first_contact_answers",
            "Customers' answers to the question after a resolution, by firstcall's verdict and theirs",
            ["counted_first_contact", "answered_first_contact"],
            registry=registry,
        )
        self.transfers = Gauge(
            "firstcall_notifier_transfers",
            "Transfers, by reason, the intent the ticket was opened with, the team it left and the channel",
            ["reason", "intent", "team", "channel"],
            registry=registry,
        )
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
            await self._count(session)
        return escalated

    async def _count(self, session: AsyncSession) -> None:
        rows = await session.execute(
            select(FeedbackCluster.status, FeedbackCluster.decision, FeedbackCluster.unowned, func.count()).group_by(
                FeedbackCluster.status, FeedbackCluster.decision, FeedbackCluster.unowned
            )
        )
        for status, decision, unowned, count in rows:
            self.clusters.labels(status, decision or "none", str(not unowned).lower()).set(count)
        answers = await session.execute(
            select(TicketQuestion.counted_first_contact, TicketQuestion.resolved_first_contact, func.count())
            .where(TicketQuestion.answered_at.is_not(None))
            .group_by(TicketQuestion.counted_first_contact, TicketQuestion.resolved_first_contact)
        )
        for counted, said, count in answers:
            self.answers.labels(str(bool(counted)).lower(), str(bool(said)).lower()).set(count)
        for reason, intent, team, channel, count in await transfers.transfer_counts(session=session):
            self.transfers.labels(reason, intent, team, channel).set(count)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.check()
            except Exception:
                log.exception("escalating overdue feedback failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.feedback_escalation_check_seconds)
