"""The detection index's housekeeping, one loop per replica: reports that left the window are unindexed,
and the embedding buckets are learned again and refilled when the window has changed (upkeep.py).

Every piece is a short transaction under a PostgreSQL advisory lock tried without waiting, so replicas
take turns and a replica that stops halfway leaves nothing another cannot finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from services.notifier.detection import service as detection_service
from services.notifier.detection import upkeep
from services.notifier.detection.embedding import MeaningEncoder
from services.notifier.detection.index import PRUNE_LOCK_KEY, UPKEEP_LOCK_KEY, try_lock
from services.notifier.metrics import NotifierMetrics
from services.notifier.settings import NotifierSettings
from shared.db import Database

log = logging.getLogger(__name__)
PRUNE_BATCHES_PER_CYCLE = 20
STEPS_PER_CYCLE = 50  # then the loop yields a moment before going on (filling a model takes many)


class IndexMaintenance:
    def __init__(self, *, database: Database, settings: NotifierSettings, metrics: NotifierMetrics) -> None:
        self.database, self.settings, self.metrics = database, settings, metrics
        self.upkeep = upkeep.Upkeep(
            encoder=MeaningEncoder.named(settings.detection_encoder),
            refresh=timedelta(days=settings.index_model_refresh_days),
            reports_per_bucket=settings.index_reports_per_bucket,
        )
        if self.upkeep.encoder is not None:
            metrics.set_ready("encoder", True)  # loaded above: a graph that cannot load fails the start
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_prune = datetime.min.replace(tzinfo=UTC)

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="notifier-index-maintenance")

    async def stop(self) -> None:
        """Stop between two steps (each is its own transaction: nothing is left half done)."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self, max_steps: int = STEPS_PER_CYCLE) -> bool:
        """Unindex what left the window, then do pending upkeep steps; True if some are left."""
        now = datetime.now(UTC)
        if now - self._last_prune >= timedelta(seconds=self.settings.index_prune_interval_seconds):
            self._last_prune = now
            await self._prune(now - timedelta(days=self.settings.duplicate_window_days))
        for _ in range(max_steps):
            if self._stopping.is_set():
                return True
            async with self.database.session() as session:
                if not await try_lock(session, UPKEEP_LOCK_KEY):
                    return False  # another replica is at it
                more = await upkeep.step(session=session, upkeep=self.upkeep, now=now)
                await session.commit()
            if isinstance(more, upkeep.Sample):
                await self._learn(more, now)
            elif not more:
                self.metrics.set_ready("detection_index", True)
                return False
            self.metrics.set_ready("detection_index", False)  # a model is learned, filled or retired
        return True

    async def settle(self) -> None:
        """Run until no upkeep is left (benchmarks and tests: the state the loop reaches between cycles)."""
        while await self.run_once():
            pass

    async def _learn(self, sample: upkeep.Sample, now: datetime) -> None:
        """Learn centroids in a thread, holding no connection (SQLite has one), then start the new model."""
        learned = await asyncio.to_thread(sample.learn)
        encoder = self.upkeep.encoder
        assert encoder is not None, "only an encoder's reports are sampled"
        async with self.database.session() as session:
            await upkeep.begin_building(session=session, encoder=encoder, sample=sample, learned=learned, now=now)
            await session.commit()
        log.info("learning %d embedding buckets from %d reports", sample.buckets, len(sample.units))

    async def _run(self) -> None:
        interval = self.settings.index_prune_interval_seconds
        while not self._stopping.is_set():
            pending = False
            try:
                pending = await self.run_once()
            except Exception:
                # Housekeeping must outlive a database hiccup; the next cycle picks up where this one stopped.
                log.exception("index maintenance failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.01 if pending else interval)

    async def _prune(self, before: datetime) -> None:
        for _ in range(PRUNE_BATCHES_PER_CYCLE):
            async with self.database.session() as session:
                if not await try_lock(session, PRUNE_LOCK_KEY):
                    return
                pruned = await detection_service.prune_index(session=session, before=before)
                if pruned < detection_service.PRUNE_BATCH:
                    await upkeep.prune(session=session, before=before)
                await session.commit()
            self.metrics.pruned.inc(pruned)
            if pruned < detection_service.PRUNE_BATCH:
                return
