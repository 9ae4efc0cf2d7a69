"""Recognising the caller: one customer profile, whichever channel they come through."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.router.customers.models import Customer, CustomerIdentity
from services.router.customers.schemas import CustomerRef


async def find_or_create_customer(*, session: AsyncSession, ref: CustomerRef) -> Customer:
    """The customer behind the given identities; a new profile if none is known yet."""
    pairs = ref.identities()
    known = (
        await session.scalars(
            select(CustomerIdentity)
            .where(tuple_(CustomerIdentity.kind, CustomerIdentity.value).in_(pairs))
            .options(selectinload(CustomerIdentity.customer).selectinload(Customer.identities))
        )
    ).all()
    by_pair = {(identity.kind, identity.value): identity for identity in known}
    now = datetime.now(UTC)
    owner = next((by_pair[pair].customer for pair in pairs if pair in by_pair), None)
    if owner is None:
        owner = Customer(display_name=ref.name, created_at=now, identities=[])
        session.add(owner)
    elif ref.name and not owner.display_name:
        owner.display_name = ref.name
    for kind, value in pairs:
        if (kind, value) not in by_pair:
            owner.identities.append(CustomerIdentity(kind=kind, value=value, created_at=now))
    await session.flush()
    return owner
