"""Deliveries as rows: written with the decision to send, claimed by one worker, finished exactly once.

Claims are short transactions (PostgreSQL: FOR UPDATE SKIP LOCKED, so replicas never take the same row);
a claim carries a lease, so a worker that dies mid-send leaves its row to be retried, never stuck.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.delivery.models import Delivery, DeliveryAttempt
from shared import tracing
from shared.db import insert_many_ignoring_duplicates
from shared.errors import Conflict, NotFound
from shared.web.pagination import Keyset, fetch_page

# Set on a session that enqueued deliveries, so its commit wakes the worker at once.
STAGED_DELIVERIES = "notifier.delivery.staged"
NEWEST_FIRST = Keyset("notifications", ((Delivery.created_at, True), (Delivery.id, True)))


@dataclass(frozen=True)
class NewDelivery:
    dedupe_key: str
    channel: str
    endpoint: str
    event_type: str
    payload: bytes
    subscription_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    problem_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    notification_kind: str | None = None
    status: str = "pending"
    reason: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


async def enqueue(*, session: AsyncSession, delivery: NewDelivery) -> uuid.UUID | None:
    """Stage a delivery in the caller's transaction; None if one with the same dedupe key exists."""
    return delivery.id if delivery.id in await enqueue_many(session=session, deliveries=[delivery]) else None


async def enqueue_many(*, session: AsyncSession, deliveries: Sequence[NewDelivery]) -> set[uuid.UUID]:
    """Stage deliveries in the caller's transaction, in a few statements however many (a resolution tells
    thousands of customers); the ids of those staged (one whose dedupe key exists already is not)."""
    now = datetime.now(UTC)
    trace = tracing.current_context()
    traceparent, tracestate = trace.get("traceparent"), trace.get("tracestate")
    rows = [
        {
            "id": delivery.id,
            "dedupe_key": delivery.dedupe_key,
            "channel": delivery.channel,
            "endpoint": delivery.endpoint,
            "event_type": delivery.event_type,
            "payload": delivery.payload,
            "subscription_id": delivery.subscription_id,
            "customer_id": delivery.customer_id,
            "problem_id": delivery.problem_id,
            "ticket_id": delivery.ticket_id,
            "notification_kind": delivery.notification_kind,
            "status": delivery.status,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": delivery.reason,
            "created_at": now,
            "traceparent": traceparent,
            "tracestate": tracestate[:512] if tracestate else None,
        }
        for delivery in deliveries
    ]
    table = Delivery.__table__
    inserted: set[uuid.UUID] = await insert_many_ignoring_duplicates(session, table, rows, "id")  # type: ignore[arg-type]
    if any(delivery.status == "pending" and delivery.id in inserted for delivery in deliveries):
        session.info[STAGED_DELIVERIES] = True
    return inserted


async def claim_due(*, session: AsyncSession, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
    """Take due deliveries (and ones whose sender's lease ran out) for this worker; caller commits."""
    due = or_(
        (Delivery.status == "pending") & (Delivery.next_attempt_at <= now),
        (Delivery.status == "sending") & (Delivery.lease_until < now),
    )
    statement = select(Delivery).where(due).order_by(Delivery.next_attempt_at).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    claimed = list(await session.scalars(statement))
    for delivery in claimed:
        delivery.status = "sending"
        delivery.lease_until = now + lease
        delivery.attempts += 1
    return claimed


async def get_delivery(*, session: AsyncSession, delivery_id: uuid.UUID) -> Delivery:
    """A delivery, or a 404 problem."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("Notification", delivery_id)
    return delivery


async def attempts_of(
    *, session: AsyncSession, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[DeliveryAttempt]]:
    """The log of attempts for each delivery, in order."""
    found: dict[uuid.UUID, list[DeliveryAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if delivery_ids:
        rows = await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
            .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.attempt, DeliveryAttempt.id)
        )
        for attempt in rows:
            found[attempt.delivery_id].append(attempt)
    return found


async def list_deliveries(
    *,
    session: AsyncSession,
    status: str | None = None,
    subscription_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    problem_id: uuid.UUID | None = None,
    event_type: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    offset: int = 0,
) -> tuple[list[Delivery], str | None]:
    """A page of the delivery log, newest first, filtered as ops ask, and the cursor of the next."""
    statement = select(Delivery)
    for column, value in (
        (Delivery.status, status),
        (Delivery.subscription_id, subscription_id),
        (Delivery.customer_id, customer_id),
        (Delivery.problem_id, problem_id),
        (Delivery.event_type, event_type),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return await fetch_page(session, statement, NEWEST_FIRST, limit=limit, cursor=cursor, offset=offset)


async def replay(*, session: AsyncSession, delivery_id: uuid.UUID) -> Delivery:
    """Give a dead-lettered delivery a fresh retry budget (ops fixed the receiver); caller commits."""
    delivery = await get_delivery(session=session, delivery_id=delivery_id)
    if delivery.status != "dead":
        raise Conflict(
            "not-dead-lettered", f"Only dead-lettered notifications can be replayed; this one is {delivery.status}."
        )
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = datetime.now(UTC)
    delivery.lease_until = None
    session.info[STAGED_DELIVERIES] = True
    return delivery
