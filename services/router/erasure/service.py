"""Accepting a right-to-erasure request: the audit record and the event every service erases on."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.customers.models import Customer, CustomerIdentity
from services.router.erasure.models import CustomerErasure
from shared.errors import Conflict, NotFound, invalid
from shared.events.catalogue import CustomerErased
from shared.messaging.outbox import add_events
from shared.redaction import spellings

MAX_MERGED = 1000  # profiles folded into one customer; CustomerErased carries their ids


def subject_digest(*, customer_id: uuid.UUID, secret: str) -> str:
    """The customer as the audit names them: recomputable from the id, but not reversible to it."""
    key = hashlib.sha256(b"firstcall customer erasure\x00" + secret.encode()).digest()
    return hmac.new(key, customer_id.bytes, hashlib.sha256).hexdigest()


async def request_erasure(
    *,
    session: AsyncSession,
    customer_id: uuid.UUID,
    reason: str,
    reason_field: str,
    actor: str,
    secret: str,
    now: datetime,
) -> tuple[CustomerErasure, bool]:
    """Record the request and stage CustomerErased; the erasure itself runs when the event is handled.

    Returns the record and whether it is new: asking again for an erased customer answers the first record.
    """
    digest = subject_digest(customer_id=customer_id, secret=secret)
    earlier = await session.scalar(select(CustomerErasure).where(CustomerErasure.subject_digest == digest))
    if earlier is not None:
        return earlier, False
    customer = await session.get(Customer, customer_id, with_for_update=True)
    if customer is None:
        raise NotFound("Customer", customer_id)
    if customer.merged_into_id is not None:
        raise Conflict("merged-customer", f"customer {customer_id} was merged into {customer.merged_into_id}")
    merged = await merged_profiles(session=session, customer_id=customer_id)
    if _mentions_the_customer(reason, await personal_values(session=session, customer_ids=[customer_id, *merged])):
        raise invalid(reason_field, "must not contain the customer's personal data: the audit keeps it")
    if len(merged) > MAX_MERGED:
        raise Conflict("too-many-merged", f"customer {customer_id} has more than {MAX_MERGED} merged profiles")
    record = CustomerErasure(
        id=uuid.uuid4(),
        subject_digest=digest,
        reason=reason,
        actor=actor,
        status="pending",
        erased={},
        requested_at=now,
    )
    session.add(record)
    await add_events(
        session,
        CustomerErased(customer_id=customer_id, erasure_id=record.id, merged_customer_ids=merged, requested_at=now),
    )
    return record, True


async def get_erasure(*, session: AsyncSession, erasure_id: uuid.UUID) -> CustomerErasure:
    """One erasure record, for the supervisor who asked (or an auditor)."""
    record = await session.get(CustomerErasure, erasure_id)
    if record is None:
        raise NotFound("Erasure", erasure_id)
    return record


async def merged_profiles(*, session: AsyncSession, customer_id: uuid.UUID) -> list[uuid.UUID]:
    """Every profile folded into this one, however deep the chain of merges."""
    found: list[uuid.UUID] = []
    frontier = [customer_id]
    while frontier and len(found) <= MAX_MERGED:
        frontier = list((await session.scalars(select(Customer.id).where(Customer.merged_into_id.in_(frontier)))).all())
        found.extend(frontier)
    return found


async def personal_values(*, session: AsyncSession, customer_ids: list[uuid.UUID]) -> list[str]:
    """The customer's email addresses, phone numbers, external ids and names, in every spelling stored."""
    identities = (
        await session.execute(
            select(CustomerIdentity.kind, CustomerIdentity.value).where(CustomerIdentity.customer_id.in_(customer_ids))
        )
    ).all()
    names = (await session.scalars(select(Customer.display_name).where(Customer.id.in_(customer_ids)))).all()
    return spellings(
        emails=[value for kind, value in identities if kind == "email"],
        phones=[value for kind, value in identities if kind == "phone"],
        names=[*(value for kind, value in identities if kind == "external_id"), *(n for n in names if n)],
    )


def _mentions_the_customer(text: str, values: list[str]) -> bool:
    lowered = text.lower()
    return any(value.lower() in lowered for value in values)
