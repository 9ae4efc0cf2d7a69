"""Keeping the embedding index fit for the window, one bounded step at a time, from any replica.

The centroids are learned from the organisation's own reports when the window has grown (or shrunk)
past what the active model was learned on, or when it is `refresh` old. A new model is *building*: from
the moment it exists (created under the detection lock) every new report is posted to it as well, and
these steps fill it with the window's earlier reports; when it holds them all it becomes *active*
(again under the lock) and the old one is *retired* and deleted in chunks. Detection therefore always
searches a model holding every report of the window, and replicas never disagree on it. Each step is
a short transaction whose progress is stored in the model row, so any replica carries on after another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import CursorResult, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.detection import buckets, centroids, index
from services.notifier.detection.buckets import ACTIVE, BUILDING, LIVE, RETIRED
from services.notifier.detection.embedding import Meaning, MeaningEncoder, sketches, unit_matrix
from services.notifier.detection.models import DOCUMENT_COUNT_TERM, DetectionModel, ReportBucket, TermStat
from services.notifier.reports.models import Report

FILL_BATCH = 2000  # reports posted to a building model per step
DELETE_BATCH = 5000  # postings of a retired model deleted per step
MAX_SAMPLE = 50_000  # reports k-means learns from, at most (the most recent ones)


@dataclass(frozen=True)
class Sample:
    units: NDArray[np.float32]
    buckets: int
    reports: int

    def learn(self) -> NDArray[np.float32] | None:
        """The centroids (None for a model of one bucket)."""
        return None if self.buckets == 1 else centroids.learn(self.units, self.buckets)


@dataclass(frozen=True)
class Upkeep:
    encoder: MeaningEncoder | None
    refresh: timedelta
    reports_per_bucket: int


async def step(*, session: AsyncSession, upkeep: Upkeep, now: datetime) -> bool | Sample:
    """Do the next piece of upkeep (caller holds the upkeep lock, commits); False when nothing is left.

    When centroids are due, returns the sample to learn them from: learning takes seconds to a minute of
    CPU, so the caller does it outside any transaction, then calls `begin_building`."""
    models = list(await session.scalars(select(DetectionModel).order_by(DetectionModel.id)))
    encoder = upkeep.encoder
    stale = [m for m in models if m.status != RETIRED and (encoder is None or m.encoder != encoder.fingerprint)]
    if stale:
        await index.lock_detection(session)
        for model in stale:
            model.status = RETIRED
        return True
    retired = next((m for m in models if m.status == RETIRED), None)
    if retired is not None:
        await _delete_some(session, retired)
        return True
    if encoder is None:
        return False
    building = next((m for m in models if m.status == BUILDING), None)
    if building is not None:
        await _fill_some(session, building, encoder)
        return True
    active = next((m for m in models if m.status == ACTIVE), None)
    if await _learning_due(session, active, upkeep, now):
        return await _sample(session, encoder, upkeep.reports_per_bucket) or False
    return False


async def prune(*, session: AsyncSession, before: datetime) -> None:
    """Take reports that left the window out of every searched or building model."""
    rows = (
        await session.execute(select(DetectionModel.id, DetectionModel.buckets).where(DetectionModel.status.in_(LIVE)))
    ).all()
    for model_id, count in rows:
        await buckets.prune(session, model_id=model_id, buckets=count, before=before)


async def window_size(session: AsyncSession) -> int:
    """Reports in the window (the term index counts them)."""
    found = await session.scalar(select(TermStat.reports).where(TermStat.term == DOCUMENT_COUNT_TERM))
    return int(found or 0)


async def _learning_due(session: AsyncSession, active: DetectionModel | None, upkeep: Upkeep, now: datetime) -> bool:
    """Whether the window outgrew the active model (twice the buckets it wants), shrank well below it, or
    the model is `refresh` old; or reports are waiting for a first model (one was loaded in bulk)."""
    reports = await window_size(session)
    if active is None:
        return reports > 0
    wanted = centroids.buckets_for(reports, upkeep.reports_per_bucket)
    if wanted >= 2 * active.buckets or (active.buckets > 1 and wanted * 4 <= active.buckets):
        return True
    return active.buckets > 1 and now - (active.activated_at or active.created_at) >= upkeep.refresh


async def _sample(session: AsyncSession, encoder: MeaningEncoder, per_bucket: int) -> Sample | None:
    """The most recent reports' vectors to learn centroids from (None: too few of this encoder's yet)."""
    reports = await window_size(session)
    k = centroids.buckets_for(reports, per_bucket)
    blobs = list(
        await session.scalars(
            select(Report.embedding)
            .where(Report.embedding.is_not(None))
            .order_by(Report.opened_at.desc())
            .limit(min(MAX_SAMPLE, k * centroids.SAMPLE_PER_BUCKET))
        )
    )
    units = _units(blobs, encoder)
    # Most of the window may come from another encoder (the setting just changed): wait for this one's.
    return Sample(units, k, reports) if k == 1 or len(units) >= k else None


async def begin_building(
    *,
    session: AsyncSession,
    encoder: MeaningEncoder,
    sample: Sample,
    learned: NDArray[np.float32] | None,
    now: datetime,
) -> None:
    """Create the building model; from its commit on, every new report is posted to it as well."""
    await index.lock_detection(session)
    if await session.scalar(select(func.count()).where(DetectionModel.status == BUILDING)):
        return  # another replica got there first
    session.add(
        DetectionModel(
            encoder=encoder.fingerprint,
            encoder_name=encoder.encoder.name,
            dimension=encoder.encoder.dimension,
            buckets=1 if learned is None else len(learned),
            centroids=None if learned is None else centroids.to_bytes(learned),
            status=BUILDING,
            trained_on=sample.reports,
            created_at=now,
        )
    )


async def _fill_some(session: AsyncSession, model: DetectionModel, encoder: MeaningEncoder) -> None:
    """Post the next batch of the window's reports to a building model; activate it when all are in."""
    statement = select(Report.ticket_id, Report.opened_at, Report.embedding).where(Report.embedding.is_not(None))
    if model.filled_to_opened_at is not None and model.filled_to_ticket_id is not None:
        cursor = (model.filled_to_opened_at, model.filled_to_ticket_id)
        statement = statement.where(tuple_(Report.opened_at, Report.ticket_id) > cursor)
    rows = (await session.execute(statement.order_by(Report.opened_at, Report.ticket_id).limit(FILL_BATCH))).all()
    if not rows:
        await _activate(session, model)
        return
    mine = [row for row in rows if Meaning.from_bytes(row.embedding).encoder == model.encoder]
    if mine:
        units = unit_matrix([row.embedding for row in mine], model.dimension)
        assigned = (
            np.zeros(len(mine), np.int64)
            if model.centroids is None
            else centroids.nearest(units, centroids.from_bytes(model.centroids, model.dimension))
        )
        sketched = sketches([row.embedding for row in mine], model.dimension)
        await buckets.post(
            session,
            [
                (model.id, int(bucket), row.opened_at, row.ticket_id, sketch)
                for row, bucket, sketch in zip(mine, assigned.tolist(), sketched, strict=True)
            ],
        )
    model.filled_to_opened_at, model.filled_to_ticket_id = rows[-1].opened_at, rows[-1].ticket_id


async def _activate(session: AsyncSession, model: DetectionModel) -> None:
    await index.lock_detection(session)
    await session.execute(
        update(DetectionModel)
        .where(DetectionModel.status == ACTIVE, DetectionModel.encoder == model.encoder)
        .values(status=RETIRED)
    )
    model.status, model.activated_at = ACTIVE, datetime.now(UTC)


async def _delete_some(session: AsyncSession, model: DetectionModel) -> None:
    """Delete a chunk of a retired model's postings; the model itself once none are left."""
    key = tuple_(ReportBucket.model_id, ReportBucket.bucket, ReportBucket.opened_at, ReportBucket.ticket_id)
    chunk = (
        select(ReportBucket.model_id, ReportBucket.bucket, ReportBucket.opened_at, ReportBucket.ticket_id)
        .where(ReportBucket.model_id == model.id)
        .limit(DELETE_BATCH)
    )
    deleted = cast(CursorResult[Any], await session.execute(delete(ReportBucket).where(key.in_(chunk))))
    if deleted.rowcount == 0:
        await session.delete(model)


def _units(blobs: list[bytes | None], encoder: MeaningEncoder) -> NDArray[np.float32]:
    mine = [blob for blob in blobs if blob is not None and Meaning.from_bytes(blob).encoder == encoder.fingerprint]
    return unit_matrix(mine, encoder.encoder.dimension)
