"""Which feedback cluster a new voice joins: problems' reading and score, feedback's own clusters.

A voice is read exactly as a report is (detection.service.understand: its words weighed by their rarity
among the reports, its spelling, its meaning through the same sentence encoder) and scored with the same
function and threshold. It joins the cluster it is most like on average (mean score against that cluster's
most recent voices, average linkage, as problems do), or starts one: one customer's suggestion is already a
piece of feedback with an owner, so there is no minimum number of customers.

Feedback is far rarer than tickets, so instead of the problems' two indexes the candidates are the most
recent voices of the window (at most CANDIDATE_VOICES), scored in one vectorised pass.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.detection import index
from services.notifier.detection.service import DetectionConfig, Reading
from services.notifier.detection.similarity import ReportVector, similarities
from services.notifier.detection.text import weigh
from services.notifier.feedback.models import FeedbackVoice

CANDIDATE_VOICES = 2_000
LINKAGE_VOICES = 50
# Its own lock, not detection's: feedback arriving never holds up problem detection, and two voices of the
# same suggestion on two replicas still see each other (the second waits for the first's commit).
FEEDBACK_LOCK_KEY = 7_318_244_019


async def lock_feedback(session: AsyncSession) -> None:
    """Serialise feedback clustering across replicas until the transaction ends (no-op on SQLite)."""
    if index.is_postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEEDBACK_LOCK_KEY})


async def vector_of(*, session: AsyncSession, reading: Reading) -> ReportVector:
    """A voice's vectors, its words weighed with the rarities of the reports' index (read, not changed)."""
    rarity = await index.inverse_frequencies(session, reading.counts.keys(), adding=False)
    return ReportVector(weigh(reading.counts, rarity), reading.spelling, reading.meaning)


async def closest_cluster(
    *, session: AsyncSession, vector: ReportVector, received_at: datetime, window: timedelta, config: DetectionConfig
) -> uuid.UUID | None:
    """The cluster whose recent voices the new one is most like on average, if that reaches the threshold."""
    rows = (
        await session.execute(
            select(FeedbackVoice.cluster_id, FeedbackVoice.features, FeedbackVoice.embedding)
            .where(FeedbackVoice.received_at >= received_at - window, FeedbackVoice.features.is_not(None))
            .order_by(FeedbackVoice.received_at.desc())
            .limit(CANDIDATE_VOICES)
        )
    ).all()
    clusters, others = [], []
    for cluster_id, features, embedding in rows:
        if features is not None:  # the query says so; the column's type does not know it
            clusters.append(cluster_id)
            others.append(ReportVector.from_row(features, embedding))
    if not others:
        return None
    scores = similarities(vector, others, meaning_weight=config.meaning_weight if vector.meaning else 0.0)
    return best_on_average(clusters, scores.tolist(), threshold=config.threshold)


def best_on_average(clusters: Sequence[uuid.UUID], scores: Sequence[float], *, threshold: float) -> uuid.UUID | None:
    """Average linkage over each cluster's most recent voices (given newest first), among the clusters that
    have at least one voice at the threshold; the best mean, if it reaches the threshold."""
    by_cluster: dict[uuid.UUID, list[float]] = defaultdict(list)
    for cluster_id, score in zip(clusters, scores, strict=True):
        if len(by_cluster[cluster_id]) < LINKAGE_VOICES:
            by_cluster[cluster_id].append(score)
    means = {cluster_id: sum(group) / len(group) for cluster_id, group in by_cluster.items() if max(group) >= threshold}
    best = max(means.items(), key=lambda item: item[1], default=None)
    return best[0] if best is not None and best[1] >= threshold else None
