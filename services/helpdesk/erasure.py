"""The bridge's part of a customer's erasure: its own copies of their data, then what RT's API lets it blank.

The bridge holds the customer's address (customer_links: their RT requestor) and their tickets' words in
the effects journal (what a ticket was created with, the comments written about it). Those go when
CustomerErased is handled, with the shared sweep for any copy elsewhere. In RT, one `erase` effect per
ticket blanks the ticket's subject and the requestors' address and name, and disables them. RT's history
(the first message, replies, old values of changed fields) is only removed by RT's shredder, a command
on the RT server that its REST API does not offer (docs/helpdesk.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.helpdesk.db import Base
from services.helpdesk.effects import service as effects
from services.helpdesk.effects.models import DONE, DROPPED, PENDING, Effect
from services.helpdesk.links.models import CustomerLink, TicketLink
from services.helpdesk.outbound.sides import Sides
from services.helpdesk.settings import HelpdeskSettings
from shared.db import UtcDateTime
from shared.erased import skipping_erased
from shared.events.catalogue import CustomerErased, Event
from shared.messaging.inbox import EventHandler
from shared.redaction import CHUNK, ERASED, blank_outbox_events, forget_answers_naming, spellings, sweep

ERASE = "erase"  # the effect kind: the customer's data blanked in the helpdesk


class ErasedCustomer(Base):
    """An erased customer's id (a random UUID): a ticket event published before the erasure may arrive
    after CustomerErased (another topic), and must not recreate what was erased."""

    __tablename__ = "erased_customers"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime())


async def on_customer_erased(event: CustomerErased, session: AsyncSession, *, settings: HelpdeskSettings) -> None:
    await erase_customer(session=session, event=event, now=datetime.now(UTC))


async def is_erased(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    return await session.get(ErasedCustomer, customer_id) is not None


def skipping_erased_customers(handlers: Mapping[type[Event], EventHandler]) -> dict[type[Event], EventHandler]:
    """The consumer table with events about customers erased before skipped (CustomerErased itself is kept)."""
    erasing: dict[type[Event], EventHandler] = {
        cls: handler for cls, handler in handlers.items() if cls is CustomerErased
    }
    others = {cls: handler for cls, handler in handlers.items() if cls is not CustomerErased}
    return skipping_erased(others, is_erased=is_erased, keep=erasing)


async def erase_customer(*, session: AsyncSession, event: CustomerErased, now: datetime) -> dict[str, int]:
    """Remove the customer's data from the bridge's tables and stage its blanking in the helpdesk."""
    customer_ids = [event.customer_id, *event.merged_customer_ids]
    known = set(
        (
            await session.scalars(
                select(ErasedCustomer.customer_id).where(ErasedCustomer.customer_id.in_(customer_ids))
            )
        ).all()
    )
    session.add_all(ErasedCustomer(customer_id=i, erased_at=event.requested_at) for i in customer_ids if i not in known)
    requestors = (await session.scalars(select(CustomerLink).where(CustomerLink.customer_id.in_(customer_ids)))).all()
    ticket_ids = list(
        (await session.scalars(select(TicketLink.ticket_id).where(TicketLink.customer_id.in_(customer_ids)))).all()
    )
    values = spellings(
        emails=[link.requestor for link in requestors if not link.placeholder],
        names=await _names_in_journal(session, ticket_ids),
    )
    erased = {
        "customer_links": await _count(session, delete(CustomerLink).where(CustomerLink.customer_id.in_(customer_ids))),
        "effects": await _blank_journal(session, ticket_ids, now),
        "outbox": await blank_outbox_events(session, [str(i) for i in [*customer_ids, *ticket_ids]]),
        "idempotency_keys": await forget_answers_naming(session, [str(i) for i in [*customer_ids, *ticket_ids]]),
    }
    for ticket_id in ticket_ids:
        effects.record(
            session=session,
            ticket_id=ticket_id,
            kind=ERASE,
            payload={},
            cause=f"customer.erased {event.erasure_id}",
            decided_at=event.requested_at,
            now=now,
        )
    for table, rows in (await sweep(session, values)).items():
        erased[table] = erased.get(table, 0) + rows
    return erased


async def _names_in_journal(session: AsyncSession, ticket_ids: list[uuid.UUID]) -> list[str]:
    """The customer's name as tickets were created with it: the sweep then finds it wherever it was copied."""
    names: list[str] = []
    for start in range(0, len(ticket_ids), CHUNK):
        payloads = await session.scalars(
            select(Effect.payload).where(Effect.ticket_id.in_(ticket_ids[start : start + CHUNK]))
        )
        names += [str(p["customer_name"]) for p in payloads if isinstance(p, dict) and p.get("customer_name")]
    return sorted(set(names))


async def _blank_journal(session: AsyncSession, ticket_ids: list[uuid.UUID], now: datetime) -> int:
    """Their tickets' effects lose their words; those still pending are dropped (nothing more is written
    to the helpdesk about these tickets except their erasure)."""
    changed = 0
    for start in range(0, len(ticket_ids), CHUNK):
        chunk = ticket_ids[start : start + CHUNK]
        await session.execute(
            update(Effect)
            .where(Effect.ticket_id.in_(chunk), Effect.status == PENDING)
            .values(status=DROPPED, done_at=now)
        )
        changed += await _count(
            session, update(Effect).where(Effect.ticket_id.in_(chunk)).values(payload={}, last_error=None)
        )
    return changed


async def _count(session: AsyncSession, statement: Any) -> int:
    return int(getattr(await session.execute(statement), "rowcount", 0) or 0)


async def erase_in_helpdesk(*, effect: Effect, link: TicketLink, sides: Sides, now: datetime) -> None:
    """Carry out an `erase` effect: the ticket (found by its firstcall id if the link never learnt it)
    loses its subject and its requestors their address and name. Setting blanks twice changes nothing."""
    desk = sides.helpdesk
    rt_id = link.rt_ticket_id or await desk.find_ticket(firstcall_ticket=str(link.ticket_id))
    if rt_id is not None:
        await desk.erase_personal_data(rt_id, erased=ERASED)
    effects.finish(effect, status=DONE, now=now, note=None if rt_id else "the ticket was never created in the helpdesk")
