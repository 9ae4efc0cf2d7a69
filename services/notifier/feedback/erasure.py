"""What feedback holds of an erased customer: their words, name and vectors go; the counts stay.

A cluster keeps its number of customers (five people still said it) but not a summary taken from this
customer's words. Called from the notifier's CustomerErased handling (services/notifier/erasure/service.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.feedback import outcomes
from services.notifier.feedback.models import FeedbackCluster, FeedbackVoice, TicketQuestion
from shared.redaction import ERASED


async def erase_feedback(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> dict[str, int]:
    """Blank the customers' voices and answers, and the summaries their words made; rows changed by table."""
    voices = (
        await session.execute(
            select(FeedbackVoice.cluster_id, FeedbackVoice.text).where(FeedbackVoice.customer_id.in_(customer_ids))
        )
    ).all()
    summaries = 0
    for cluster_id, text in voices:
        cluster = await session.get(FeedbackCluster, cluster_id)
        if cluster is not None and cluster.summary_text == outcomes.quote(text):
            cluster.summary_text, summaries = ERASED, summaries + 1
    await session.execute(
        update(FeedbackVoice)
        .where(FeedbackVoice.customer_id.in_(customer_ids))
        .values(text="", subject="", customer_name=None, tags=[], features=None, embedding=None)
    )
    answers = await session.execute(
        update(TicketQuestion).where(TicketQuestion.customer_id.in_(customer_ids)).values(subject="", answer_text=None)
    )
    return {
        "feedback_voices": len(voices),
        "feedback_clusters": summaries,
        "ticket_questions": int(getattr(answers, "rowcount", 0) or 0),
    }
