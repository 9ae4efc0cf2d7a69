"""The mapping: firstcall tickets, customers and agents to RT tickets, requestors and users."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.links.models import AgentLink, CustomerLink, TicketLink
from shared.errors import NotFound


async def ticket_link(*, session: AsyncSession, ticket_id: uuid.UUID, lock: bool = False) -> TicketLink | None:
    """The link of a firstcall ticket the bridge knows (it saw the ticket open)."""
    statement = select(TicketLink).where(TicketLink.ticket_id == ticket_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def ticket_links(*, session: AsyncSession, ticket_ids: Sequence[uuid.UUID]) -> Sequence[TicketLink]:
    """The links of those tickets the bridge knows, in the given order."""
    if not ticket_ids:
        return []
    found = {
        link.ticket_id: link
        for link in (await session.scalars(select(TicketLink).where(TicketLink.ticket_id.in_(ticket_ids)))).all()
    }
    return [found[t] for t in dict.fromkeys(ticket_ids) if t in found]


async def link_of_rt_ticket(*, session: AsyncSession, rt_ticket_id: int) -> TicketLink | None:
    return (await session.scalars(select(TicketLink).where(TicketLink.rt_ticket_id == rt_ticket_id))).first()


async def open_link(
    *, session: AsyncSession, ticket_id: uuid.UUID, customer_id: uuid.UUID, now: datetime
) -> TicketLink:
    """The link of a ticket that just opened in firstcall (its RT ticket comes later)."""
    existing = await ticket_link(session=session, ticket_id=ticket_id)
    if existing is not None:
        return existing
    link = TicketLink(
        ticket_id=ticket_id,
        customer_id=customer_id,
        open=True,
        rt_last_change_id=0,
        context_posted=False,
        created_at=now,
        updated_at=now,
    )
    session.add(link)
    return link


async def open_links_of_customer(*, session: AsyncSession, customer_id: uuid.UUID) -> Sequence[TicketLink]:
    statement = select(TicketLink).where(TicketLink.customer_id == customer_id, TicketLink.open.is_(True))
    return (await session.scalars(statement.order_by(TicketLink.created_at).limit(50))).all()


async def requestor(*, session: AsyncSession, customer_id: uuid.UUID) -> CustomerLink | None:
    return await session.get(CustomerLink, customer_id)


async def remember_requestor(
    *, session: AsyncSession, customer_id: uuid.UUID, address: str, placeholder: bool, now: datetime
) -> CustomerLink:
    link = await session.get(CustomerLink, customer_id)
    if link is None:
        link = CustomerLink(customer_id=customer_id, requestor=address, placeholder=placeholder, created_at=now)
        session.add(link)
    return link


async def rt_user_of_agent(*, session: AsyncSession, agent_id: uuid.UUID) -> str | None:
    link = await session.get(AgentLink, agent_id)
    return link.rt_user if link else None


async def agent_of_rt_user(*, session: AsyncSession, rt_user: str) -> uuid.UUID | None:
    return (await session.scalars(select(AgentLink.agent_id).where(AgentLink.rt_user == rt_user))).first()


async def link_agent(*, session: AsyncSession, agent_id: uuid.UUID, rt_user: str, now: datetime) -> AgentLink:
    """Say which RT user an agent works as (one RT user per agent, and the other way round)."""
    link = await session.get(AgentLink, agent_id)
    if link is None:
        link = AgentLink(agent_id=agent_id, rt_user=rt_user, created_at=now, updated_at=now)
        session.add(link)
    else:
        link.rt_user, link.updated_at = rt_user, now
    return link


async def agent_link(*, session: AsyncSession, agent_id: uuid.UUID) -> AgentLink:
    link = await session.get(AgentLink, agent_id)
    if link is None:
        raise NotFound("Agent link", agent_id)
    return link


async def unlink_agent(*, session: AsyncSession, agent_id: uuid.UUID) -> None:
    if (await session.execute(delete(AgentLink).where(AgentLink.agent_id == agent_id))).rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("Agent link", agent_id)


async def agent_links(*, session: AsyncSession, after: str | None, limit: int) -> Sequence[AgentLink]:
    """Agent links by RT user name, a page at a time (keyset on the name)."""
    statement = select(AgentLink).order_by(AgentLink.rt_user).limit(limit)
    if after is not None:
        statement = statement.where(AgentLink.rt_user > after)
    return (await session.scalars(statement)).all()
