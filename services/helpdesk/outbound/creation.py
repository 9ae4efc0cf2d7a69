"""A firstcall ticket made into an RT ticket: found first (by its firstcall id), created only if missing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.desk.port import HelpdeskRejected, NewTicket
from services.helpdesk.effects import service as effects
from services.helpdesk.effects.models import Effect
from services.helpdesk.firstcall.client import RouterRefused
from services.helpdesk.links import service as links
from services.helpdesk.links.models import TicketLink
from services.helpdesk.outbound.sides import Sides


async def create_ticket(
    *, session: AsyncSession, effect: Effect, link: TicketLink, sides: Sides, now: datetime
) -> None:
    """The RT ticket of a firstcall ticket, in the queue of its intent (or the default queue)."""
    if link.rt_ticket_id is None:
        found = await sides.helpdesk.find_ticket(firstcall_ticket=str(link.ticket_id))
        if found is None:
            found, link.queue = await _create(session, effect.payload, link, sides, now)
        link.rt_ticket_id, link.updated_at = found, now
    effects.finish(effect, now=now)


async def _create(
    session: AsyncSession, payload: dict[str, Any], link: TicketLink, sides: Sides, now: datetime
) -> tuple[int, str]:
    settings = sides.settings
    queue = settings.queue_for(intent=payload.get("intent") or "unknown") or settings.default_queue
    ticket = NewTicket(
        queue=queue,
        requestor=await requestor_of(session, sides, link.customer_id, now),
        subject=str(payload["subject"]),
        text=_description(payload),
        fields={"ticket": str(link.ticket_id)},
    )
    try:
        return await sides.helpdesk.create_ticket(ticket), queue
    except HelpdeskRejected as refusal:
        if queue == settings.default_queue:
            raise
        # A queue map naming a queue RT does not have must not keep the ticket out of RT.
        note = f"\n\n(firstcall: queue {queue} was refused by RT, {refusal}; created in {settings.default_queue}.)"
        fallback = replace(ticket, queue=settings.default_queue, text=ticket.text + note)
        return await sides.helpdesk.create_ticket(fallback), settings.default_queue


async def requestor_of(session: AsyncSession, sides: Sides, customer_id: uuid.UUID, now: datetime) -> str:
    """The customer's email, or a placeholder address that names them for phone-only customers."""
    known = await links.requestor(session=session, customer_id=customer_id)
    if known is not None:
        return known.requestor
    try:
        customer = await sides.router.customer(customer_id)
    except RouterRefused:
        customer = {}
    emails = [i["value"] for i in customer.get("identities") or [] if i.get("kind") == "email" and i.get("value")]
    address = emails[0] if emails else f"customer-{customer_id}@{sides.settings.placeholder_email_domain}"
    await links.remember_requestor(
        session=session, customer_id=customer_id, address=address, placeholder=not emails, now=now
    )
    return address


def _description(payload: dict[str, Any]) -> str:
    intent = payload.get("intent") or "unknown"
    facts = f"Opened in firstcall on {payload.get('channel')}, priority {payload.get('priority')}, intent {intent}."
    description = str(payload.get("description") or "").strip()
    return f"{description}\n\n{facts}" if description else facts
