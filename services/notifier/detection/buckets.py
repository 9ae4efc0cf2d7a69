"""The embedding index in the database: each report posted under its nearest centroid, and a new report's
probe of the buckets nearest to it.

Like the term index (index.py) it lives in the database, so every replica searches the same one, and a
probe reads a bounded slice whatever the window holds: of each of the `probes` nearest buckets, the
`per_bucket` newest postings (or, for the duplicate view of a report, as many opened last before it and
first after it), each posting's sketch of its vector included (index-only scans), ranked here by the
cosine the sketches estimate (detection re-scores the best of them exactly, from the reports' vectors).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.detection import centroids as centroid_math
from services.notifier.detection.embedding import Meaning, MeaningEncoder, sketch_cosines
from services.notifier.detection.index import Window, is_postgres, range_scans, window_postings
from services.notifier.detection.models import DetectionModel, ReportBucket
from shared.db import driver_fetch

ACTIVE, BUILDING, RETIRED = "active", "building", "retired"
LIVE = (ACTIVE, BUILDING)  # the statuses a new report is posted to
_CACHED_MODELS = 4  # centroids kept per process: the live ones and the one before (1.5 MB each at most)
_centroid_cache: OrderedDict[tuple[int, datetime], NDArray[np.float32]] = OrderedDict()


@dataclass(frozen=True)
class BucketModel:
    """A model as detection uses it: its id, its status and its centroids (None: one bucket)."""

    id: int
    status: str
    centroids: NDArray[np.float32] | None
    # The last vector's similarity to each centroid: a report is posted under its nearest bucket and then
    # probes its nearest few, one product of 1,024 x 768 (3 MB read) instead of two.
    _last: list[Any] = field(default_factory=lambda: [b"", None], compare=False, repr=False)

    def bucket_of(self, unit: NDArray[np.float32]) -> int:
        return 0 if self.centroids is None else int(np.argmax(self._scores(unit)))

    def probe(self, unit: NDArray[np.float32], count: int) -> list[int]:
        return [0] if self.centroids is None else centroid_math.best(self._scores(unit), count)

    def _scores(self, unit: NDArray[np.float32]) -> NDArray[np.float32]:
        assert self.centroids is not None
        key = unit.tobytes()
        if self._last[0] != key:
            self._last[:] = [key, self.centroids @ unit]
        scores: NDArray[np.float32] = self._last[1]
        return scores


async def active_model(session: AsyncSession, *, encoder: MeaningEncoder) -> BucketModel | None:
    """The model searched for this encoder's vectors, if any report was indexed with it."""
    models = await _live(session, encoder)
    return next((model for model in models if model.status == ACTIVE), None)


async def posting_models(session: AsyncSession, *, encoder: MeaningEncoder) -> list[BucketModel]:
    """The models a new report is posted to (the active one, and one being built); caller holds the lock.

    The first report of an encoder creates its first model: one bucket, until the window is big enough
    to learn centroids from."""
    models = await _live(session, encoder)
    if any(model.status == ACTIVE for model in models):
        return models
    now = datetime.now(UTC)
    first = DetectionModel(
        encoder=encoder.fingerprint,
        encoder_name=encoder.encoder.name,
        dimension=encoder.encoder.dimension,
        buckets=1,
        status=ACTIVE,
        trained_on=0,
        created_at=now,
        activated_at=now,
    )
    session.add(first)
    await session.flush()
    models = [BucketModel(first.id, ACTIVE, None), *models]
    session.info[_session_key(encoder)] = models
    return list(models)


async def add(
    session: AsyncSession,
    *,
    models: Sequence[BucketModel],
    ticket_id: uuid.UUID,
    opened_at: datetime,
    meaning: Meaning,
) -> None:
    """Post a report under its nearest bucket of each model (again: no-op)."""
    vector = meaning.sketch()
    await post(session, [(model, bucket, opened_at, ticket_id, vector) for model, bucket in placed(models, meaning)])


def placed(models: Sequence[BucketModel], meaning: Meaning) -> list[tuple[int, int]]:
    """Where a report is posted: (model id, its nearest bucket) for each model."""
    unit = meaning.unit()
    return [(model.id, model.bucket_of(unit)) for model in models]


async def post(session: AsyncSession, rows: Sequence[tuple[int, int, datetime, uuid.UUID, bytes]]) -> None:
    """Insert postings (model, bucket, opened_at, ticket, sketch), skipping those already there."""
    if not rows:
        return
    make = pg_insert if is_postgres(session) else sqlite_insert
    values = [{"model_id": m, "bucket": b, "opened_at": o, "ticket_id": t, "vector": v} for m, b, o, t, v in rows]
    await session.execute(make(ReportBucket).on_conflict_do_nothing(), values)


async def candidates(
    session: AsyncSession,
    *,
    model: BucketModel,
    query: Meaning,
    window: Window,
    exclude: uuid.UUID | None,
    probes: int,
    per_bucket: int,
    limit: int,
) -> list[tuple[uuid.UUID, float]]:
    """Reports of the buckets nearest the query, by the cosine their sketches estimate, best first."""
    unit = query.unit()
    buckets = model.probe(unit, probes)
    if model.centroids is None:
        per_bucket *= probes  # one bucket holds the whole (small) window: the same budget
    if is_postgres(session):
        sql, around = (_PROBE, ()) if window.around is None else (_PROBE_AROUND, (window.around,))
        arguments = (buckets, model.id, window.start, window.end, per_bucket, exclude, *around)
        found: Sequence[Sequence[Any]] = await driver_fetch(session, sql, *arguments)
    else:
        found = await _probe_sqlite(
            session, buckets, model=model.id, window=window, per_bucket=per_bucket, exclude=exclude
        )
    if not found:
        return []
    scores = sketch_cosines([row[1] for row in found], unit)
    best = np.argsort(-scores, kind="stable")[:limit]
    return [(found[i][0], float(scores[i])) for i in best.tolist()]


async def prune(session: AsyncSession, *, model_id: int, buckets: int, before: datetime) -> None:
    """Take the postings of reports opened before `before` out of a model (one index range per bucket)."""
    await session.execute(
        delete(ReportBucket).where(
            ReportBucket.model_id == model_id,
            ReportBucket.bucket.in_(range(buckets)),
            ReportBucket.opened_at < before,
        )
    )


async def _live(session: AsyncSession, encoder: MeaningEncoder) -> list[BucketModel]:
    """The encoder's active and building models, read once per session (the intake reads them twice; under
    the detection lock they cannot change before it commits)."""
    if _session_key(encoder) in session.info:
        return list(session.info[_session_key(encoder)])
    rows = (
        await session.execute(
            select(DetectionModel.id, DetectionModel.status, DetectionModel.buckets, DetectionModel.created_at).where(
                DetectionModel.encoder == encoder.fingerprint, DetectionModel.status.in_(LIVE)
            )
        )
    ).all()
    return await remember_live(session, encoder, rows)


async def remember_live(
    session: AsyncSession, encoder: MeaningEncoder, rows: Sequence[Sequence[Any]]
) -> list[BucketModel]:
    """The encoder's live models from their rows (id, status, buckets, created_at: read by `_live`, or
    with other reads in one statement by detection.service), kept for the rest of the session."""
    models = []
    for model_id, status, count, created_at in sorted(rows, key=lambda row: row[0]):
        found = None if count == 1 else await _centroids(session, model_id, created_at, encoder)
        models.append(BucketModel(model_id, status, found))
    session.info[_session_key(encoder)] = models
    return list(models)


def _session_key(encoder: MeaningEncoder) -> tuple[str, int]:
    return ("detection_models", encoder.fingerprint)


async def _centroids(
    session: AsyncSession, model_id: int, created_at: datetime, encoder: MeaningEncoder
) -> NDArray[np.float32]:
    """A model's centroids, read once per process (a model's centroids never change)."""
    key = (model_id, created_at)
    if key not in _centroid_cache:
        blob = await session.scalar(select(DetectionModel.centroids).where(DetectionModel.id == model_id))
        _centroid_cache[key] = centroid_math.from_bytes(blob or b"", encoder.encoder.dimension)
        while len(_centroid_cache) > _CACHED_MODELS:
            _centroid_cache.popitem(last=False)
    _centroid_cache.move_to_end(key)
    return _centroid_cache[key]


async def _probe_sqlite(
    session: AsyncSession, buckets: list[int], *, model: int, window: Window, per_bucket: int, exclude: uuid.UUID | None
) -> list[tuple[uuid.UUID, bytes]]:
    """SQLite has no LATERAL: every bucket's range scans in one UNION ALL."""
    scans = [
        scan
        for bucket in buckets
        for scan in range_scans(
            (ReportBucket.ticket_id, ReportBucket.vector),
            ReportBucket.opened_at,
            (
                ReportBucket.model_id == model,
                ReportBucket.bucket == bucket,
                ReportBucket.ticket_id.is_distinct_from(exclude),
            ),
            window,
            per_bucket,
        )
    ]
    return [(ticket_id, vector) for ticket_id, vector in (await session.execute(union_all(*scans))).all()]


# PostgreSQL: one statement of fixed shape, index-only range scans per probed bucket (`window_postings`; the
# report asked about, $6, left out there rather than among the rows here); one for intake, one for the
# duplicate view.
_PROBE, _PROBE_AROUND = (
    f"""
    SELECT p.ticket_id, p.vector
    FROM unnest($1::integer[]) AS q(bucket)
    CROSS JOIN LATERAL ({
        window_postings(
            "ticket_id, vector",
            "report_buckets",
            "model_id = $2 AND bucket = q.bucket AND ticket_id IS DISTINCT FROM $6::uuid",
            around=around,
        )
    }) AS p
    """
    for around in (None, "$7")
)
