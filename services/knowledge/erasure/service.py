"""Erasing a customer from knowledge when CustomerErased arrives (once: the inbox holds its id).

A suggestion record is the ticket's words (`query`) and the customer's id beside the articles suggested:
all of it is the customer's, so the records go. Article feedback and known issues name tickets, not
people, and stay: they are what the knowledge base learnt, not what it kept of the customer.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.suggestions.models import TicketSuggestion
from shared.events.catalogue import CustomerErased
from shared.redaction import blank_outbox_events


async def erase_customer(*, session: AsyncSession, event: CustomerErased) -> dict[str, int]:
    """Remove the customer's suggestion records and the words of the events about their tickets."""
    customer_ids = [event.customer_id, *event.merged_customer_ids]
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
