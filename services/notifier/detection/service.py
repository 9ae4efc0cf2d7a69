"""Finding the reports most like a given one: index on arrival, candidates from the index, exact re-scoring."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.detection import index
from services.notifier.detection.similarity import ReportVector, similarities
from services.notifier.detection.text import spelling_vector, term_counts, weigh
from services.notifier.reports.models import Report
from services.notifier.settings import NotifierSettings


@dataclass(frozen=True)
class DetectionConfig:
    window: timedelta
    threshold: float
    candidates: int
    query_terms: int
    postings_per_term: int

    @classmethod
    def from_settings(cls, settings: NotifierSettings) -> DetectionConfig:
        return cls(
            window=timedelta(days=settings.duplicate_window_days),
            threshold=settings.similarity_threshold,
            candidates=settings.detection_candidates,
            query_terms=settings.index_query_terms,
            postings_per_term=settings.index_postings_per_term,
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


async def index_report(*, session: AsyncSession, report: Report, description: str) -> ReportVector:
    """Vectorise a new report with today's term rarities and add it to the index (caller holds the lock)."""
    counts = term_counts(report.subject, description)
    idf = await index.inverse_frequencies(session, counts.keys(), adding=True)
    vector = ReportVector(weigh(counts, idf), spelling_vector(report.subject, description))
    await index.add(session, ticket_id=report.ticket_id, opened_at=report.opened_at, words=vector.words)
    report.features = vector.to_bytes()
    return vector


async def neighbours(
    *, session: AsyncSession, report: Report, vector: ReportVector, config: DetectionConfig
) -> list[Match]:
    """Reports in the window around this one, most similar first (any customer, scores exact)."""
    window = index.Window(report.opened_at - config.window, report.opened_at + config.window)
    found = await index.candidates(
        session,
        query=vector.words,
        window=window,
        exclude=report.ticket_id,
        query_terms=config.query_terms,
        postings_per_term=config.postings_per_term,
        limit=config.candidates,
    )
    if not found:
        return []
    rows = await session.execute(
        select(
            Report.ticket_id, Report.customer_id, Report.cluster_id, Report.subject, Report.opened_at, Report.features
        )
        .where(Report.ticket_id.in_([ticket_id for ticket_id, _ in found]))
        .where(Report.features.is_not(None))
    )
    found_rows = rows.all()
    scores = similarities(vector, [ReportVector.from_bytes(row.features) for row in found_rows])
    matches = [
        Match(row.ticket_id, row.customer_id, row.cluster_id, row.subject, row.opened_at, round(float(score), 4))
        for row, score in zip(found_rows, scores.tolist(), strict=True)
    ]
    return sorted(matches, key=lambda match: (-match.score, str(match.ticket_id)))


async def find_similar(*, session: AsyncSession, report: Report, k: int, config: DetectionConfig) -> list[Match]:
    """The k reports from other customers most like this one: the duplicate view ops and evaluation use."""
    if report.features is None:
        return []
    matches = await neighbours(
        session=session, report=report, vector=ReportVector.from_bytes(report.features), config=config
    )
    return [match for match in matches if match.customer_id != report.customer_id][:k]


async def prune_index(*, session: AsyncSession, before: datetime, batch: int = 500) -> int:
    """Unindex reports that left the window, so the index holds the window and no more."""
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
        update(Report).where(Report.ticket_id.in_([row.ticket_id for row in rows])).values(features=None)
    )
    return len(rows)
