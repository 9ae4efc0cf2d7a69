"""A feedback cluster's summary as its events carry it: the first voice's words, sealed with their key.

A cluster's `summary_text` quotes the customer whose feedback opened it, and `FeedbackEscalated` carries it on
`firstcall.problems` for 30 days. It is sealed like a problem's summary (problems/sealing.py, decision 0031):
with that customer's key while the router seals, ERASED_TEXT once they are erased, in clear if the router
made them no key. The cluster does not record whose words the summary is; the voice that opened it is found
among those received when the cluster was made, by the quote it gave (as feedback/erasure.py finds it).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.feedback import outcomes
from services.notifier.feedback.models import FeedbackCluster, FeedbackVoice
from services.notifier.problems.sealing import event_text

FIELD = "summary_text"
CANDIDATES = 20  # voices received at the very instant the cluster was made: one, in practice


async def summary_author(session: AsyncSession, cluster: FeedbackCluster) -> uuid.UUID | None:
    """The customer whose words the cluster's summary quotes, or None if no voice gave them (erased)."""
    voices = await session.execute(
        select(FeedbackVoice.customer_id, FeedbackVoice.text)
        .where(FeedbackVoice.cluster_id == cluster.id, FeedbackVoice.received_at == cluster.created_at)
        .order_by(FeedbackVoice.ticket_id)
        .limit(CANDIDATES)
    )
    return next((customer for customer, text in voices if outcomes.quote(text) == cluster.summary_text), None)


async def event_summary(session: AsyncSession, cluster: FeedbackCluster, *, limit: int) -> str:
    """The cluster's summary as an event carries it, at most `limit` characters sealed."""
    text = cluster.summary_text[:limit]
    author = await summary_author(session, cluster)
    carried = await event_text(session, author, text, field=FIELD)
    # Sealing lengthens the text (base64, nonce, tag, the author's id): cut the words until it fits.
    while len(carried) > limit and text:
        text = text[: max(0, len(text) * limit // len(carried) - 1)]
        carried = await event_text(session, author, text, field=FIELD)
    return carried
