"""Erasing a customer from knowledge when CustomerErased arrives (once: the inbox holds its id).

A suggestion record is the ticket's words (`query`) and the customer's id beside the articles suggested:
all of it is the customer's, so the records go. Article feedback and known issues name tickets, not
people, and stay: they are what the knowledge base learnt, not what it kept of the customer.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.erasure.models import ErasedCustomer
from services.knowledge.suggestions.models import TicketSuggestion
from shared.events.catalogue import CustomerErased
from shared.redaction import blank_outbox_events


async def erase_customer(*, session: AsyncSession, event: CustomerErased) -> dict[str, int]:
    """Remove the customer's suggestion records and the words of the events about their tickets."""
    customer_ids = [event.customer_id, *event.merged_customer_ids]
    await _remember_erased(session, customer_ids, event.requested_at)
    ticket_ids = [
        str(ticket_id)
        for ticket_id in (
            await session.scalars(
                select(TicketSuggestion.ticket_id).where(TicketSuggestion.customer_id.in_(customer_ids))
            )
        ).all()
    ]
    removed = await session.execute(delete(TicketSuggestion).where(TicketSuggestion.customer_id.in_(customer_ids)))
    blanked = await blank_outbox_events(session, ticket_ids)
    return {"ticket_suggestions": int(getattr(removed, "rowcount", 0) or 0), "outbox": blanked}


async def _remember_erased(session: AsyncSession, customer_ids: list[uuid.UUID], at: datetime) -> None:
    known = set(
        (
            await session.scalars(
                select(ErasedCustomer.customer_id).where(ErasedCustomer.customer_id.in_(customer_ids))
            )
        ).all()
    )
    session.add_all(ErasedCustomer(customer_id=i, erased_at=at) for i in customer_ids if i not in known)
