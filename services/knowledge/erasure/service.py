"""Erasing a customer from knowledge when CustomerErased arrives (once: the inbox holds its id).

A suggestion record is the ticket's words (`query`) and the customer's id beside the articles suggested:
all of it is the customer's, so the records go. Feedback on their tickets keeps its verdict (which article,
which outcome: what ranking learnt) and loses the ticket's words and the agent's comment. Known issues name
tickets, not people, and stay.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.erasure.models import ErasedCustomer
from services.knowledge.feedback.models import ArticleFeedback
from services.knowledge.suggestions.models import TicketSuggestion
from shared.events.catalogue import CustomerErased
from shared.redaction import CHUNK, blank_outbox_events, forget_answers_naming


async def erase_customer(*, session: AsyncSession, event: CustomerErased) -> dict[str, int]:
    """Remove the customer's suggestion records and every copy of their tickets' words knowledge holds."""
    customer_ids = [event.customer_id, *event.merged_customer_ids]
    await _remember_erased(session, customer_ids, event.requested_at)
    ticket_ids = list(
        (
            await session.scalars(
                select(TicketSuggestion.ticket_id).where(TicketSuggestion.customer_id.in_(customer_ids))
            )
        ).all()
    )
    removed = await session.execute(delete(TicketSuggestion).where(TicketSuggestion.customer_id.in_(customer_ids)))
    feedback = 0
    for start in range(0, len(ticket_ids), CHUNK):
        # The verdict (article, outcome) still teaches ranking; the ticket's words and the comment go.
        blanked_feedback = await session.execute(
            update(ArticleFeedback)
            .where(ArticleFeedback.ticket_id.in_(ticket_ids[start : start + CHUNK]))
            .values(query=None, comment=None)
        )
        feedback += int(getattr(blanked_feedback, "rowcount", 0) or 0)
    named = [str(i) for i in [*customer_ids, *ticket_ids]]
    return {
        "ticket_suggestions": int(getattr(removed, "rowcount", 0) or 0),
        "article_feedback": feedback,
        "outbox": await blank_outbox_events(session, [str(i) for i in ticket_ids]),
        "idempotency_keys": await forget_answers_naming(session, named),
    }


async def _remember_erased(session: AsyncSession, customer_ids: list[uuid.UUID], at: datetime) -> None:
    known = set(
        (
            await session.scalars(
                select(ErasedCustomer.customer_id).where(ErasedCustomer.customer_id.in_(customer_ids))
            )
        ).all()
    )
    session.add_all(ErasedCustomer(customer_id=i, erased_at=at) for i in customer_ids if i not in known)
