"""The delivery worker: sends what the database says is due, outside any transaction, and records it.

One loop per replica, woken by commits that staged deliveries (and by a poll, for other replicas'). Each
delivery goes through: plan (still wanted? where to? customer's limits? endpoint's circuit?), send, record.
The record is fenced on (status, attempts): if the lease ran out and another worker took the row over,
the late result is not written over its.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session

from services.notifier.delivery import service as delivery_service
from services.notifier.delivery.planning import Plan, Snapshot, plan_delivery
from services.notifier.delivery.recording import record_outcome, record_plan
from services.notifier.delivery.senders import Outcome, SmtpConfig, email_message, post_webhook, send_email
from services.notifier.metrics import NotifierMetrics
from services.notifier.settings import NotifierSettings
from shared import tracing
from shared.db import Database

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(self, *, database: Database, settings: NotifierSettings, metrics: NotifierMetrics) -> None:
        self.database, self.settings, self.metrics = database, settings, metrics
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        database.on_commit(self._on_commit)

    def _on_commit(self, session: Session) -> None:
        if session.info.pop(delivery_service.STAGED_DELIVERIES, False):
            self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._http = httpx.AsyncClient(follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="notifier-delivery-worker")

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the batch in hand (its results recorded), then stop; a send cut short is retried later."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.delivery_poll_interval_ms / 1000)
            self._wake.clear()
            try:
                while not self._stopping and await self.run_once() == self.settings.delivery_batch_size:
                    pass
            except Exception:
                # The worker must outlive a database hiccup; the rows wait for the next cycle.
                log.exception("delivery cycle failed")

    async def run_once(self) -> int:
        """Claim the due deliveries and see each through; returns how many were claimed."""
        now = datetime.now(UTC)
        async with self.database.session() as session:
            claimed = await delivery_service.claim_due(
                session=session,
                now=now,
                limit=self.settings.delivery_batch_size,
                lease=timedelta(seconds=self.settings.delivery_lease_seconds),
            )
            snapshots = [Snapshot.of(delivery) for delivery in claimed]
            await session.commit()
        await asyncio.gather(*(self._see_through(snapshot) for snapshot in snapshots))
        return len(snapshots)

    async def _see_through(self, snapshot: Snapshot) -> None:
        # The send continues the trace of the event that decided it (a ticket's, through its problem).
        with tracing.resumed("notifier", snapshot.trace, f"deliver {snapshot.event_type}"):
            await self._see_through_traced(snapshot)

    async def _see_through_traced(self, snapshot: Snapshot) -> None:
        try:
            async with self.database.session() as session:
                plan = await plan_delivery(session=session, snapshot=snapshot, settings=self.settings)
            if plan.action != "send":
                async with self.database.session() as session:
                    await record_plan(session=session, snapshot=snapshot, plan=plan, settings=self.settings)
                    await session.commit()
                self.metrics.deliveries.labels(snapshot.channel, plan.action).inc()
                return
            outcome = await self._send(snapshot, plan)
            async with self.database.session() as session:
                status = await record_outcome(
                    session=session, snapshot=snapshot, plan=plan, outcome=outcome, settings=self.settings
                )
                await session.commit()
            self.metrics.deliveries.labels(plan.channel, status).inc()
            self.metrics.delivery_latency.labels(plan.channel).observe(outcome.duration_ms / 1000)
        except Exception:
            # Left in `sending`: the lease runs out and the delivery is tried again, not lost.
            log.exception("delivery %s failed unexpectedly", snapshot.id)

    async def _send(self, snapshot: Snapshot, plan: Plan) -> Outcome:
        s = self.settings
        if plan.channel == "email":
            message = email_message(
                payload=snapshot.payload, to=plan.endpoint, sender=s.email_from, delivery_id=str(snapshot.id)
            )
            password = s.smtp_password.get_secret_value() if s.smtp_password else None
            config = SmtpConfig(
                s.smtp_host,
                s.smtp_port,
                s.email_from,
                s.smtp_username,
                password,
                s.smtp_starttls,
                s.delivery_timeout_seconds,
            )
            return await send_email(message, config)
        assert self._http is not None, "worker not started"
        return await post_webhook(
            self._http,
            url=plan.endpoint,
            body=snapshot.payload,
            secret=plan.secret or "",
            delivery_id=str(snapshot.id),
            event_type=snapshot.event_type,
            timeout=s.delivery_timeout_seconds,
        )
