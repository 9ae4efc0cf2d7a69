"""Undoing a merge: both profiles back as they were, each with its own identities, tickets and history."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.customers.merging import OWNED
from services.router.customers.models import Customer, CustomerIdentity, CustomerMerge, CustomerMergeMove
from services.router.customers.schemas import CustomerRead
from services.router.customers.service import erasure_of, get_customer
from services.router.history import service as history
from services.router.history.models import Activity
from services.router.ledger.models import Approval, LedgerEntry
from shared.errors import Conflict
from shared.events.catalogue import CustomersUnmerged
from shared.messaging.outbox import add_events

# Written since the merge about one of the merged profile's tickets: they follow that ticket back.
_FOLLOW_THEIR_TICKET = (LedgerEntry, Approval, Activity)


def _refused(rule: str, detail: str) -> Conflict:
    return Conflict("unmerge-refused", detail, rule=rule)


async def unmerge_customers(
    *,
    session: AsyncSession,
    survivor_id: uuid.UUID,
    merged_id: uuid.UUID,
    reason: str,
    actor: str,
    now: datetime,
    window: timedelta,
    secret: str,
    expected: preconditions.Expected | None = None,
) -> tuple[Customer, Customer, uuid.UUID, dict[str, int]]:
    """Move back what the merge of `merged_id` into `survivor_id` moved, within the window, if still safe."""
    # Locked in a fixed order, as a merge locks them, so a merge and an unmerge cannot deadlock.
    locked = {}
    for customer_id in sorted([survivor_id, merged_id]):
        locked[customer_id] = await get_customer(session=session, customer_id=customer_id, lock=True)
    survivor, merged = locked[survivor_id], locked[merged_id]
    await _ensure_not_erased(session, [survivor_id, merged_id], secret=secret)
    preconditions.check(expected, CustomerRead.model_validate(survivor))
    record = await _merge_record(session, survivor=survivor, merged=merged)
    await _ensure_safe(session, record=record, survivor=survivor, now=now, window=window)
    moved_back = {}
    for model in OWNED:
        which: ColumnElement[bool] = model.id.in_(_moved(record.id, model.__tablename__))
        if model in _FOLLOW_THEIR_TICKET:
            which = or_(which, model.ticket_id.in_(_moved(record.id, "tickets")))
        result = await session.execute(
            update(model).where(model.customer_id == survivor_id, which).values(customer_id=merged_id)
        )
        moved_back[model.__tablename__] = int(getattr(result, "rowcount", 0) or 0)
    merged.merged_into_id = None
    # The survivor gets back what it had, unless someone has changed it since the merge.
    if survivor.display_name == merged.display_name:
        survivor.display_name = record.survivor_display_name
    if survivor.owner_agent_id == merged.owner_agent_id:
        survivor.owner_agent_id = record.survivor_owner_agent_id
    record.undone_at, record.undone_by, record.undo_reason = now, actor, reason[:500]
    for customer_id, other in ((survivor_id, merged_id), (merged_id, survivor_id)):
        history.record(
            session=session,
            customer_id=customer_id,
            kind="customer.unmerged",
            ref_id=other,
            summary=f"merge of {merged_id} into {survivor_id} undone: {reason}",
            occurred_at=now,
            actor=actor,
        )
    await add_events(
        session,
        CustomersUnmerged(
            customer_id=survivor_id,
            restored_customer_id=merged_id,
            merge_id=record.id,
            moved_back=moved_back,
            actor=actor,
            reason=reason,
            unmerged_at=now,
        ),
    )
    merge_id = record.id
    await session.flush()
    session.expire_all()
    survivor = await get_customer(session=session, customer_id=survivor_id)
    return survivor, await get_customer(session=session, customer_id=merged_id), merge_id, moved_back


def _moved(merge_id: uuid.UUID, table: str) -> Select[uuid.UUID]:
    return select(CustomerMergeMove.row_id).where(
        CustomerMergeMove.merge_id == merge_id, CustomerMergeMove.table_name == table
    )


async def _ensure_not_erased(session: AsyncSession, customer_ids: list[uuid.UUID], *, secret: str) -> None:
    """Erasure took both profiles' words: an unmerge would restore empty profiles, and undo nothing."""
    for customer_id in customer_ids:
        record = await erasure_of(session=session, customer_id=customer_id, secret=secret)
        if record is not None:
            raise _refused("customer-erased", f"customer {customer_id} was erased (erasure {record.id})")


async def _merge_record(session: AsyncSession, *, survivor: Customer, merged: Customer) -> CustomerMerge:
    """The merge to undo: the one that made `merged` a tombstone of `survivor`."""
    if merged.merged_into_id != survivor.id:
        raise _refused("not-merged", f"customer {merged.id} is not merged into {survivor.id}")
    record = await session.scalar(
        select(CustomerMerge)
        .where(
            CustomerMerge.survivor_id == survivor.id,
            CustomerMerge.merged_id == merged.id,
            CustomerMerge.undone_at.is_(None),
        )
        .order_by(CustomerMerge.merged_at.desc())
        .limit(1)
    )
    if record is None:
        raise _refused("merge-not-recorded", "this merge predates merge records: what it moved is not known")
    return record


async def _ensure_safe(
    session: AsyncSession, *, record: CustomerMerge, survivor: Customer, now: datetime, window: timedelta
) -> None:
    """A 409 naming the rule when undoing would not give both customers back what is theirs."""
    deadline = record.merged_at + window
    if now > deadline:
        raise _refused(
            "unmerge-window-passed",
            f"merges can be undone until {window.total_seconds() / 3600:g} h after them "
            f"(FIRSTCALL_ROUTER_UNMERGE_WINDOW_HOURS); this one could be until {deadline.isoformat()}",
        )
    if survivor.merged_into_id is not None:
        raise _refused(
            "survivor-merged-since",
            f"customer {survivor.id} was itself merged into {survivor.merged_into_id} since: undo that first",
        )
    tickets, orders = _moved(record.id, "tickets"), _moved(record.id, "orders")
    for model in (LedgerEntry, Approval):
        crossing = await session.scalar(
            select(func.count())
            .select_from(model)
            .where(
                model.customer_id == survivor.id,
                model.order_id.is_not(None),
                or_(
                    model.ticket_id.in_(tickets) & model.order_id.not_in(orders),
                    model.ticket_id.not_in(tickets) & model.order_id.in_(orders),
                ),
            )
        )
        if crossing:
            raise _refused(
                "resolution-spans-profiles",
                f"{crossing} {model.__tablename__.replace('_', ' ')} since the merge join a ticket of one profile "
                "with an order of the other: they cannot be split between the two",
            )
    identities = _moved(record.id, "customer_identities")
    kept = select(func.count()).where(CustomerIdentity.customer_id == survivor.id)
    if not await session.scalar(kept.where(CustomerIdentity.id.in_(identities))):
        raise _refused("no-identity-left", "none of the merged profile's identities is left to give back to it")
    if not await session.scalar(kept.where(CustomerIdentity.id.not_in(identities))):
        raise _refused("survivor-left-without-identity", f"customer {survivor.id} would keep no identity")
