"""Opening and reading tickets; every change is stored with its event in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.router.customers import service as customer_service
from services.router.tickets.models import Ticket
from services.router.tickets.schemas import TicketCreate
from shared.errors import NotFound
from shared.events.catalogue import TicketOpened
from shared.messaging.outbox import add_events


async def open_ticket(*, session: AsyncSession, request: TicketCreate) -> Ticket:
    """Store a new ticket for the recognised customer and stage TicketOpened (caller commits)."""
    customer = await customer_service.find_or_create_customer(session=session, ref=request.customer)
    now = datetime.now(UTC)
    ticket = Ticket(
        id=uuid.uuid4(),
        customer_id=customer.id,
        channel=request.channel,
        subject=request.subject,
        description=request.description,
        priority=request.priority,
        status="open",
        attributes=dict(request.attributes),
        opened_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    await add_events(
        session,
        TicketOpened(
            ticket_id=ticket.id,
            customer_id=customer.id,
            customer_name=customer.display_name,
            channel=request.channel,
            subject=ticket.subject,
            description=ticket.description,
            priority=request.priority,
            opened_at=now,
            attributes=ticket.attributes,
        ),
    )
    return ticket


async def get_ticket(*, session: AsyncSession, ticket_id: uuid.UUID) -> Ticket:
    """The ticket, or a 404 problem."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("Ticket", ticket_id)
    return ticket
