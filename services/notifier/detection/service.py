"""Finding the reports most like a given one: index on arrival, candidates from two indexes (shared words
and nearby meaning), exact re-scoring of their union."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from services.notifier.detection import buckets, index, ranking
from services.notifier.detection.embedding import Meaning, MeaningEncoder
from services.notifier.detection.models import DOCUMENT_COUNT_TERM, ReportBucket
from services.notifier.detection.similarity import (
    ReportVector,
    ScoreParts,
    StoredVectors,
    score_parts,
    similarities,
)
from services.notifier.detection.text import SparseVector, spelling_vector, term_counts, weigh
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings
from shared.db import driver_fetch

PRUNE_BATCH = 500


@dataclass(frozen=True)
class Tuning:
    meaning_weight: float
    threshold: float


# The blend and the clustering threshold per encoder, chosen on StackFAQ by cross-validation over its
# threads, with GitBugs/Hadoop's recall as a check (docs/notifier.md, bench/notifier_quality.py --tune).
TUNED = {
    "none": Tuning(meaning_weight=0.0, threshold=0.45),
    "wordllama": Tuning(meaning_weight=0.6, threshold=0.5),
    "minilm": Tuning(meaning_weight=0.8, threshold=0.55),
    "mpnet": Tuning(meaning_weight=0.9, threshold=0.6),
}


@dataclass(frozen=True)
class DetectionConfig:
    window: timedelta
    threshold: float
    candidates: int
    query_terms: int
    postings_per_term: int
    encoder: MeaningEncoder | None
    meaning_weight: float
    time_share: float
    probes: int
    postings_per_bucket: int

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> DetectionConfig:
        tuned = TUNED[settings.detection_encoder]
        return cls(
            window=timedelta(days=settings.duplicate_window_days),
            threshold=settings.similarity_threshold if settings.similarity_threshold is not None else tuned.threshold,
            candidates=settings.detection_candidates,
            query_terms=settings.index_query_terms,
            postings_per_term=settings.index_postings_per_term,
            encoder=MeaningEncoder.named(settings.detection_encoder),
            meaning_weight=(
                settings.detection_meaning_weight
                if settings.detection_meaning_weight is not None
                else tuned.meaning_weight
            ),
            time_share=settings.detection_time_share,
            probes=settings.index_probe_buckets,
            postings_per_bucket=settings.index_postings_per_bucket,
        )


@dataclass(frozen=True)
class Match:
    """Another report and how alike it is to the one asked about."""

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    cluster_id: uuid.UUID | None
    subject: str
    opened_at: datetime
    score: float


@dataclass(frozen=True)
class Reading:
    """What is read of a report before the detection lock (none of it needs the index): its word counts, its
    spelling vector and its meaning (None without an encoder). Only the words' weights wait for the lock,
    as they depend on how rare each word is in the window."""

    counts: Counter[int]
    spelling: SparseVector
    meaning: Meaning | None


async def understand(*, config: DetectionConfig, subject: str, description: str) -> Reading:
    """Read a report, outside the lock: the sentence encoding (tens of milliseconds) and the text analysis
    (about a millisecond) would otherwise hold up every replica's intake."""
    meaning = None if config.encoder is None else await config.encoder.encode_report(subject, description)
    return Reading(term_counts(subject, description), spelling_vector(subject, description), meaning)


@dataclass(frozen=True)
class Locked:
    """What detection reads as it takes its lock: whether this ticket's report is recorded already (a
    redelivery under another event id); on PostgreSQL also what `index_report` needs, read in the same
    call: the term statistics of the report's terms (and the document count) and the encoder's live
    bucket models (rows for `buckets.remember_live`)."""

    recorded: bool
    counts: dict[int, int] | None = None
    live: list[tuple[Any, ...]] | None = None


async def lock_and_read(
    *, session: AsyncSession, ticket_id: uuid.UUID, reading: Reading, config: DetectionConfig
) -> Locked:
    """Serialise detection across replicas until the transaction ends (index.lock_detection), then read.

    On PostgreSQL one call (the function `detection_lock_and_read`, migration 1f6d3b8e2c47) takes the
    lock and then reads in a statement of its own, which under READ COMMITTED sees what was committed
    before the lock was granted: the previous holder's report and its postings. Each statement under the
    lock costs a round trip and the client's work around it, 0.5-1 ms in a VM where waking PostgreSQL's
    process is slow (docs/decisions/0019-detection-lock-holds-only-database-work.md); the lock, the redelivery check and
    the indexing state were three."""
    if not index.is_postgres(session):
        return Locked(recorded=await session.get(Report, ticket_id) is not None)
    encoder = config.encoder if reading.meaning is not None else None
    rows = (
        await session.execute(
            _LOCK_AND_READ,
            {
                "key": index.DETECTION_LOCK_KEY,
                "ticket": ticket_id,
                "terms": [DOCUMENT_COUNT_TERM, *reading.counts],
                "encoder": None if encoder is None else encoder.fingerprint,
                "live": list(buckets.LIVE),
            },
        )
    ).all()
    return Locked(
        recorded=any(row[0] == "recorded" for row in rows),
        counts={row[1]: row[2] for row in rows if row[0] == "term"},
        live=[tuple(row)[3:] for row in rows if row[0] == "model"],
    )


# Rows (part, term, reports, model id, status, buckets, created_at): "recorded" if the ticket's report is
# there, "term" per term statistic, "model" per live bucket model of the encoder (NULL: none).
_LOCK_AND_READ = text(
    "SELECT * FROM detection_lock_and_read("
    "CAST(:key AS bigint), CAST(:ticket AS uuid), CAST(:terms AS bigint[]), CAST(:encoder AS bigint), "
    "CAST(:live AS text[]))"
)


async def index_report(
    *,
    session: AsyncSession,
    report: Report,
    reading: Reading,
    config: DetectionConfig,
    locked: Locked,
) -> ReportVector:
    """Weigh a new report's words with today's term rarities, store it with its vectors and add it to both
    indexes (caller holds the lock, `lock_and_read`, and has just recorded the report, unflushed; the
    report was read before the lock, see `understand`)."""
    if locked.counts is not None and locked.live is not None:
        return await _index_on_postgres(session, report, reading, config, counts=locked.counts, live=locked.live)
    # The report (recorded, not flushed yet) is INSERTed with its vectors below rather than INSERTed first
    # and UPDATEd with them: one round trip fewer under the detection lock.
    with session.no_autoflush:
        idf = await index.inverse_frequencies(session, reading.counts.keys(), adding=True)
    words = weigh(reading.counts, idf)
    vector = ReportVector(words, reading.spelling, reading.meaning)
    report.features = vector.to_bytes()
    if vector.meaning is not None and config.encoder is not None:
        report.embedding = vector.meaning.to_bytes()
    await session.flush()
    await index.add(session, ticket_id=report.ticket_id, opened_at=report.opened_at, words=words)
    if vector.meaning is not None and config.encoder is not None:
        models = await buckets.posting_models(session, encoder=config.encoder)
        await buckets.add(
            session, models=models, ticket_id=report.ticket_id, opened_at=report.opened_at, meaning=vector.meaning
        )
    return vector


async def _index_on_postgres(
    session: AsyncSession,
    report: Report,
    reading: Reading,
    config: DetectionConfig,
    *,
    counts: dict[int, int],
    live: list[tuple[Any, ...]],
) -> ReportVector:
    """`index_report` in one statement after `lock_and_read`: the report, its term postings and statistics,
    its bucket postings.

    Done one by one through the ORM this was five statements. The report goes in with a plain INSERT and
    then joins the session as persistent, so what clustering changes on it later is an UPDATE, as before."""
    encoder = config.encoder if reading.meaning is not None else None
    session.expunge(report)  # written below, not by a flush (which a first bucket model's creation runs)
    words = weigh(reading.counts, index.rarities(counts, reading.counts, adding=True))
    vector = ReportVector(words, reading.spelling, reading.meaning)
    placed: list[tuple[int, int]] = []
    sketch = None
    if encoder is not None and vector.meaning is not None:
        await buckets.remember_live(session, encoder, live)
        placed = buckets.placed(await buckets.posting_models(session, encoder=encoder), vector.meaning)
        report.embedding, sketch = vector.meaning.to_bytes(), vector.meaning.sketch()
    report.features = vector.to_bytes()
    await _write_report(session, report, words, placed, sketch)
    return vector


async def _write_report(
    session: AsyncSession, report: Report, words: SparseVector, placed: list[tuple[int, int]], sketch: bytes | None
) -> None:
    """INSERT the report (transient, every column set on it) with its term postings, the statistics they
    change and its bucket postings (model id, bucket; the meaning's sketch), then make it persistent in the
    session."""
    values = {column.key: getattr(report, column.key) for column in _REPORT_COLUMNS}
    for key, value in values.items():
        setattr(report, key, value)  # every column loaded: nothing is expired and lazily read back later
    await session.execute(
        _WRITE_REPORT,
        {
            **values,
            "terms": words.terms.tolist(),
            "weights": words.weights.tolist(),
            "models": [model for model, _ in placed],
            "buckets": [bucket for _, bucket in placed],
            "sketch": sketch,
        },
    )
    make_transient_to_detached(report)
    session.add(report)


_REPORT_COLUMNS = list(Report.__table__.columns)
# The new report, its term postings with the statistics they change, and its bucket postings: one
# statement of data-modifying WITH parts (none reads another's rows, which one statement could not see).
_WRITE_REPORT = text(
    f"""
    WITH report AS (
        INSERT INTO reports ({", ".join(column.name for column in _REPORT_COLUMNS)})
        VALUES ({", ".join(f":{column.key}" for column in _REPORT_COLUMNS)})
    ), posted AS (
        INSERT INTO report_terms (term, opened_at, ticket_id, weight)
        SELECT p.term, :opened_at, :ticket_id, p.weight
        FROM unnest(CAST(:terms AS bigint[]), CAST(:weights AS float8[])) AS p(term, weight)
        RETURNING term
    ), bucketed AS (
        INSERT INTO report_buckets (model_id, bucket, opened_at, ticket_id, vector)
        SELECT b.model_id, b.bucket, :opened_at, :ticket_id, :sketch
        FROM unnest(CAST(:models AS integer[]), CAST(:buckets AS integer[])) AS b(model_id, bucket)
        ON CONFLICT DO NOTHING
    )
    INSERT INTO term_stats (term, reports)
    SELECT {DOCUMENT_COUNT_TERM}, 1 UNION ALL SELECT term, 1 FROM posted
    ON CONFLICT (term) DO UPDATE SET reports = term_stats.reports + 1
    """
).bindparams(*(bindparam(column.key, type_=column.type) for column in _REPORT_COLUMNS))


async def neighbours(
    *, session: AsyncSession, report: Report, vector: ReportVector, config: DetectionConfig
) -> list[Match]:
    """Reports in the window around this one, most similar first (any customer, scores exact): at intake,
    where the report was just opened, the lookups read the window's newest postings."""
    matches, _ = await _scored_candidates(session, report, vector, config, around=False)
    return matches


async def _scored_candidates(
    session: AsyncSession, report: Report, vector: ReportVector, config: DetectionConfig, *, around: bool
) -> tuple[list[Match], ScoreParts]:
    """The candidates from both indexes, re-scored exactly, most similar first (those scoring 0 left out),
    with their scores' parts in the same order; `around`: the lookups read both sides of the report's time
    (index.Window) rather than the window's newest."""
    window = index.Window(
        report.opened_at - config.window, report.opened_at + config.window, report.opened_at if around else None
    )
    found = await index.candidates(
        session,
        query=vector.words,
        window=window,
        exclude=report.ticket_id,
        query_terms=config.query_terms,
        postings_per_term=config.postings_per_term,
        limit=config.candidates,
    )
    wanted = dict.fromkeys(ticket_id for ticket_id, _ in found)
    wanted.update(dict.fromkeys(await _nearby_meanings(session, report, vector, window, config)))
    if not wanted:
        return [], score_parts(vector, [])
    rows = await _stored(session, list(wanted))
    others = StoredVectors([row[5] for row in rows], [row[6] for row in rows])
    parts = score_parts(vector, others, meaning_weight=config.meaning_weight)
    scores = [round(score, 4) for score in parts.blended.tolist()]
    kept = sorted((i for i, score in enumerate(scores) if score > 0), key=lambda i: (-scores[i], str(rows[i][0])))
    matches = [Match(rows[i][0], rows[i][1], rows[i][2], rows[i][3], rows[i][4], scores[i]) for i in kept]
    return matches, parts.take(kept)


# What re-scoring reads of each candidate, in Match's order, then its stored vectors.
_STORED_COLUMNS = (
    Report.ticket_id,
    Report.customer_id,
    Report.cluster_id,
    Report.subject,
    Report.opened_at,
    Report.features,
    Report.embedding,
)
_STORED = f"""
    SELECT {", ".join(column.key for column in _STORED_COLUMNS)} FROM reports
    WHERE ticket_id = ANY($1::uuid[]) AND features IS NOT NULL
"""


async def _stored(session: AsyncSession, ticket_ids: list[uuid.UUID]) -> Sequence[Sequence[Any]]:
    """The indexed reports among these, as `_STORED_COLUMNS` (asyncpg's rows on PostgreSQL, see driver_fetch)."""
    if index.is_postgres(session):
        return await driver_fetch(session, _STORED, ticket_ids)
    statement = select(*_STORED_COLUMNS).where(Report.ticket_id.in_(ticket_ids), Report.features.is_not(None))
    return (await session.execute(statement)).all()


async def cluster_affinity(
    *, session: AsyncSession, vector: ReportVector, cluster_ids: list[uuid.UUID], config: DetectionConfig, members: int
) -> dict[uuid.UUID, float]:
    """The report's mean similarity to each cluster's `members` most recent reports (average linkage).

    Joining on the mean rather than on one close member keeps a cluster from drifting, report by report,
    into a neighbouring problem."""
    members_of = await _latest_members(session, cluster_ids, members)
    affinity = {}
    for cluster_id in cluster_ids:
        rows = members_of.get(cluster_id)
        if rows:
            others = StoredVectors([row[0] for row in rows], [row[1] for row in rows])
            affinity[cluster_id] = float(similarities(vector, others, meaning_weight=config.meaning_weight).mean())
    return affinity


async def _latest_members(
    session: AsyncSession, cluster_ids: list[uuid.UUID], members: int
) -> dict[uuid.UUID, list[Sequence[Any]]]:
    """Each cluster's `members` most recent indexed reports (features, embedding), newest first. On
    PostgreSQL in one statement, the same index scan per cluster as the statement per cluster it replaced
    (one round trip and one ORM statement each, for up to five clusters a report: decision 0044)."""
    found: dict[uuid.UUID, list[Sequence[Any]]] = {}
    if index.is_postgres(session):
        for cluster_id, features, embedding in await driver_fetch(session, _LATEST_MEMBERS, cluster_ids, members):
            found.setdefault(cluster_id, []).append((features, embedding))
        return found
    for cluster_id in cluster_ids:
        found[cluster_id] = list(
            (
                await session.execute(
                    select(Report.features, Report.embedding)
                    .where(Report.cluster_id == cluster_id, Report.features.is_not(None))
                    .order_by(Report.opened_at.desc())
                    .limit(members)
                )
            ).all()
        )
    return found


# Rows of each cluster in the order of its own LIMIT, the clusters in the order given ($1, then $2 each).
_LATEST_MEMBERS = """
    SELECT c.id, m.features, m.embedding
    FROM unnest($1::uuid[]) WITH ORDINALITY AS c(id, position)
    CROSS JOIN LATERAL (
        SELECT features, embedding FROM reports
        WHERE cluster_id = c.id AND features IS NOT NULL
        ORDER BY opened_at DESC LIMIT $2
    ) AS m
    ORDER BY c.position
"""


async def find_similar(*, session: AsyncSession, report: Report, k: int, config: DetectionConfig) -> list[Match]:
    """The k reports from other customers most like this one: the duplicate view ops and evaluation use.

    Its lookups read the postings on both sides of the report's time (it may be asked about long after the
    report arrived, with later reports in the window). Ordered by the words, the meaning and the closeness
    in time ranked apart and mixed (ranking.py), not by the score: the score is calibrated for clustering's
    threshold, an order needs no calibration."""
    if report.features is None:
        return []
    vector = ReportVector.from_row(report.features, report.embedding)
    matches, parts = await _scored_candidates(session, report, vector, config, around=True)
    others = [i for i, match in enumerate(matches) if match.customer_id != report.customer_id]
    theirs = parts.take(others)
    days_apart = np.asarray(  # signed: duplicate_order takes the distance
        [(matches[i].opened_at - report.opened_at).total_seconds() / 86_400 for i in others], np.float64
    )
    order = ranking.duplicate_order(theirs.lexical, theirs.meaning, days_apart, config.time_share)
    return [matches[others[i]] for i in order[:k]]


async def prune_index(*, session: AsyncSession, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Unindex reports that left the window, so the term index holds the window and no more."""
    rows = (
        await session.execute(
            select(Report.ticket_id, Report.opened_at, Report.features)
            .where(Report.opened_at < before, Report.features.is_not(None))
            .limit(batch)
        )
    ).all()
    if not rows:
        return 0
    postings = [
        (row.ticket_id, row.opened_at, ReportVector.from_bytes(row.features).words.terms.tolist()) for row in rows
    ]
    await index.remove(session, postings)
    await session.execute(
        update(Report)
        .where(Report.ticket_id.in_([row.ticket_id for row in rows]))
        .values(features=None, embedding=None)
    )
    return len(rows)


async def unindex_reports(*, session: AsyncSession, ticket_ids: Sequence[uuid.UUID]) -> int:
    """Take reports out of both indexes (their term postings with the statistics, their bucket postings),
    so that no later report finds them: for a report that must stop counting before it leaves the window
    (its customer erased, its ticket turned out to be feedback). Their vectors are the caller's to drop."""
    if not ticket_ids:
        return 0
    rows = (
        await session.execute(
            select(Report.ticket_id, Report.opened_at, Report.features).where(
                Report.ticket_id.in_(ticket_ids), Report.features.is_not(None)
            )
        )
    ).all()
    postings = [(r.ticket_id, r.opened_at, ReportVector.from_bytes(r.features).words.terms.tolist()) for r in rows]
    if postings:
        await index.remove(session, postings)
    await session.execute(delete(ReportBucket).where(ReportBucket.ticket_id.in_(ticket_ids)))
    return len(postings)


async def _nearby_meanings(
    session: AsyncSession, report: Report, vector: ReportVector, window: index.Window, config: DetectionConfig
) -> list[uuid.UUID]:
    """Candidates from the embedding index: what lexical lookup cannot find (no shared words)."""
    encoder = config.encoder
    if vector.meaning is None or encoder is None or config.meaning_weight <= 0:
        return []
    if vector.meaning.encoder != encoder.fingerprint:
        return []  # stored before the encoder changed: its vector lives in another space
    model = await buckets.active_model(session, encoder=encoder)
    if model is None:
        return []
    found = await buckets.candidates(
        session,
        model=model,
        query=vector.meaning,
        window=window,
        exclude=report.ticket_id,
        probes=config.probes,
        per_bucket=config.postings_per_bucket,
        limit=config.candidates,
    )
    return [ticket_id for ticket_id, _ in found]
