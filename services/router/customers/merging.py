"""Folding a duplicate profile into the real one, and handing a customer to a new account owner."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.agents.models import Agent
from services.router.customers.models import Customer, CustomerIdentity, CustomerMerge, CustomerMergeMove
from services.router.customers.schemas import CustomerRead
from services.router.customers.service import get_customer
from services.router.history import service as history
from services.router.history.models import Activity
from services.router.ledger.models import Approval, LedgerEntry
from services.router.orders.models import Order
from services.router.tickets.life import UNFINISHED_STATUSES
from services.router.tickets.models import Ticket
from shared.errors import Conflict, NotFound, ProblemError
from shared.events.catalogue import AccountOwnerChanged, BriefingItem, CustomersMerged
from shared.messaging.outbox import add_events

# Everything that belongs to a customer and follows them into the surviving profile.
OWNED = (CustomerIdentity, Ticket, Order, LedgerEntry, Approval, Activity)


async def merge_customers(
    *,
    session: AsyncSession,
    survivor_id: uuid.UUID,
    merged_id: uuid.UUID,
    reason: str,
    actor: str,
    now: datetime,
) -> tuple[Customer, dict[str, int]]:
    """Move everything of `merged_id` to `survivor_id` in this one transaction, leaving a tombstone."""
    if survivor_id == merged_id:
        raise ProblemError(422, "merge-into-itself", "A customer cannot be merged into itself")
    # Lock both rows in a fixed order, so two opposite merges cannot deadlock or interleave.
    locked = {
        c.id: c
        for c in (
            await session.scalars(
                select(Customer).where(Customer.id.in_(sorted([survivor_id, merged_id]))).with_for_update()
            )
        ).all()
    }
    for customer_id in (survivor_id, merged_id):
        if customer_id not in locked:
            raise NotFound("Customer", customer_id)
        if locked[customer_id].merged_into_id is not None:
            raise Conflict("already-merged", f"customer {customer_id} was already merged into another profile")
    merged, survivor = locked[merged_id], locked[survivor_id]
    record = CustomerMerge(
        id=uuid.uuid4(),
        survivor_id=survivor_id,
        merged_id=merged_id,
        reason=reason[:500],
        actor=actor,
        survivor_display_name=survivor.display_name,
        survivor_owner_agent_id=survivor.owner_agent_id,
        merged_at=now,
    )
    session.add(record)
    await session.flush()
    moved = {}
    for model in OWNED:
        # Each moved row is written down first, so an undo moves back exactly these (customers/unmerging.py).
        await session.execute(
            insert(CustomerMergeMove).from_select(
                ["merge_id", "table_name", "row_id"],
                select(literal(record.id, Uuid()), literal(model.__tablename__, String()), model.id).where(
                    model.customer_id == merged_id
                ),
            )
        )
        result = await session.execute(
            update(model).where(model.customer_id == merged_id).values(customer_id=survivor_id)
        )
        moved[model.__tablename__] = int(getattr(result, "rowcount", 0) or 0)
    merged.merged_into_id = survivor_id
    survivor.display_name = survivor.display_name or merged.display_name
    survivor.owner_agent_id = survivor.owner_agent_id or merged.owner_agent_id
    history.record(
        session=session,
        customer_id=survivor_id,
        kind="customer.merged",
        ref_id=merged_id,
        summary=f"profile {merged_id} merged in: {reason}",
        occurred_at=now,
        actor=actor,
    )
    await add_events(
        session,
        CustomersMerged(
            customer_id=survivor_id,
            merged_customer_id=merged_id,
            moved=moved,
            actor=actor,
            reason=reason,
            merged_at=now,
            merge_id=record.id,
        ),
    )
    await session.flush()
    session.expire_all()
    return await get_customer(session=session, customer_id=survivor_id), moved


async def change_owner(
    *,
    session: AsyncSession,
    customer_id: uuid.UUID,
    agent_id: uuid.UUID | None,
    actor: str,
    now: datetime,
    expected: preconditions.Expected | None = None,
) -> Customer:
    """Give the account a new owner and brief them: what happened lately and what is still open."""
    customer = await get_customer(session=session, customer_id=customer_id, lock=True)
    preconditions.check(expected, CustomerRead.model_validate(customer))
    if customer.merged_into_id is not None:
        raise Conflict("merged-customer", f"customer {customer_id} was merged into {customer.merged_into_id}")
    if agent_id is not None and await session.get(Agent, agent_id) is None:
        raise NotFound("Agent", agent_id)
    previous = customer.owner_agent_id
    if previous == agent_id:
        return customer
    customer.owner_agent_id = agent_id
    open_items, recent = await _briefing_items(session, customer_id)
    name = customer.display_name or "the customer"
    briefing = (
        f"{name}: customer since {customer.created_at.date().isoformat()}, {len(open_items)} open item(s), "
        f"{len(recent)} recent event(s). " + " ".join(f"[{item.kind}] {item.summary}." for item in open_items[:5])
    ).strip()
    history.record(
        session=session,
        customer_id=customer_id,
        kind="customer.owner_changed",
        ref_id=agent_id or customer_id,
        summary=f"account owner changed to {agent_id or 'nobody'}",
        occurred_at=now,
        actor=actor,
    )
    await add_events(
        session,
        AccountOwnerChanged(
            customer_id=customer_id,
            previous_owner_id=previous,
            owner_id=agent_id,
            briefing=briefing,
            open_items=open_items,
            recent=recent,
            changed_at=now,
        ),
    )
    return customer


async def _briefing_items(
    session: AsyncSession, customer_id: uuid.UUID
) -> tuple[list[BriefingItem], list[BriefingItem]]:
    open_tickets = (
        await session.scalars(
            select(Ticket).where(Ticket.customer_id == customer_id, Ticket.status.in_(UNFINISHED_STATUSES))
        )
    ).all()
    pending = (
        await session.scalars(select(Approval).where(Approval.customer_id == customer_id, Approval.status == "pending"))
    ).all()
    open_items = [BriefingItem(kind="ticket", id=t.id, summary=t.subject, at=t.opened_at) for t in open_tickets]
    open_items += [
        BriefingItem(
            kind="approval",
            id=a.id,
            summary=f"{a.type} of {a.amount} {a.currency} awaits a supervisor",
            at=a.requested_at,
        )
        for a in pending
    ]
    recent = [
        BriefingItem(kind=a.kind, id=a.ref_id, summary=a.summary, at=a.occurred_at)
        for a in await history.recent(session=session, customer_id=customer_id, limit=10)
    ]
    return open_items, recent
