"""Correcting a profile by hand: linking an identity the customer gave, taking off one that is not theirs."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.customers.models import Customer, CustomerIdentity
from services.router.customers.schemas import CustomerRead
from services.router.customers.service import get_customer, live_customer
from services.router.history import service as history
from shared.errors import Conflict, NotFound
from shared.events.catalogue import (
    CustomerIdentityLinked,
    CustomerIdentityRemoved,
    CustomerRegistered,
    Identity,
    IdentityKind,
)
from shared.messaging.outbox import add_events

# Channels give a customer a few identities; hundreds on one profile means something writes in a loop.
MAX_IDENTITIES = 50


async def _correctable(
    session: AsyncSession, customer_id: uuid.UUID, expected: preconditions.Expected | None
) -> Customer:
    """The customer's locked row, if it is live and still as the caller read it."""
    customer = await get_customer(session=session, customer_id=customer_id, lock=True)
    preconditions.check(expected, CustomerRead.model_validate(customer))
    if customer.merged_into_id is not None:
        raise Conflict(
            "merged-customer",
            f"customer {customer_id} was merged into {customer.merged_into_id}; correct the survivor",
            rule="merged-customer",
        )
    return customer


async def create_customer(
    *,
    session: AsyncSession,
    pairs: list[tuple[str, str]],
    name: str | None,
    actor: str,
    now: datetime,
) -> Customer:
    """A profile created directly (before any ticket), with identities nobody else has."""
    for kind, value in pairs:
        await _ensure_unclaimed(
            session, kind, value, hint="add the others to it with POST /v1/customers/{id}/identities"
        )
    customer = Customer(id=uuid.uuid4(), display_name=name, created_at=now)
    session.add(customer)
    await session.flush()
    session.add_all(
        CustomerIdentity(id=uuid.uuid4(), customer_id=customer.id, kind=kind, value=value, created_at=now)
        for kind, value in pairs
    )
    # Now, not at commit: an identity another request just took conflicts here and the retry names its owner.
    await session.flush()
    await add_events(
        session,
        CustomerRegistered(
            customer_id=customer.id,
            display_name=name,
            identities=[Identity.model_validate({"kind": kind, "value": value}) for kind, value in pairs],
            registered_at=now,
        ),
    )
    history.record(
        session=session,
        customer_id=customer.id,
        kind="customer.created",
        ref_id=customer.id,
        summary="profile created with " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in pairs),
        occurred_at=now,
        actor=actor,
    )
    return await _reloaded(session, customer.id)


async def _ensure_unclaimed(session: AsyncSession, kind: str, value: str, *, hint: str) -> None:
    """Nothing if no customer has this identity; else a 409 that names them and says what to do."""
    existing = await session.scalar(
        select(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
    )
    if existing is None:
        return
    owner = await live_customer(session=session, customer_id=existing.customer_id)
    raise Conflict(
        "identity-belongs-to-another-customer",
        f"{kind.replace('_', ' ')} {value} belongs to customer {owner.id}: {hint}",
        rule="identity-belongs-to-another-customer",
        customer_id=str(owner.id),
    )


async def add_identity(
    *,
    session: AsyncSession,
    customer_id: uuid.UUID,
    kind: IdentityKind,
    value: str,
    reason: str | None,
    actor: str,
    now: datetime,
    expected: preconditions.Expected | None = None,
) -> tuple[Customer, bool]:
    """Link a (normalised) identity to the customer; False if it was theirs already (nothing written)."""
    customer = await _correctable(session, customer_id, expected)
    if any(i.kind == kind and i.value == value for i in customer.identities):
        return customer, False
    await _ensure_unclaimed(
        session,
        kind,
        value,
        hint=f"if they are the same person, merge the profiles (POST /v1/customers/{customer_id}/merge); "
        "if not, remove it from that customer first",
    )
    if len(customer.identities) >= MAX_IDENTITIES:
        raise Conflict(
            "too-many-identities",
            f"a customer has at most {MAX_IDENTITIES} identities; remove one that is no longer used",
            rule="too-many-identities",
        )
    session.add(CustomerIdentity(id=uuid.uuid4(), customer_id=customer_id, kind=kind, value=value, created_at=now))
    # Now, not at commit: an identity another request just took conflicts here and the retry names its owner.
    await session.flush()
    await add_events(
        session,
        CustomerIdentityLinked(customer_id=customer_id, identity=Identity(kind=kind, value=value), linked_at=now),
    )
    _audit(session, customer_id, event="linked", kind=kind, value=value, reason=reason, actor=actor, now=now)
    return await _reloaded(session, customer_id), True


async def remove_identity(
    *,
    session: AsyncSession,
    customer_id: uuid.UUID,
    which: uuid.UUID | tuple[IdentityKind, str],
    reason: str | None,
    actor: str,
    now: datetime,
    expected: preconditions.Expected | None = None,
) -> Customer:
    """Take an identity (by id, or kind and normalised value) off the customer. Their last identity stays."""
    customer = await _correctable(session, customer_id, expected)
    identity = next((i for i in customer.identities if which in (i.id, (i.kind, i.value))), None)
    if identity is None:
        described = which if isinstance(which, uuid.UUID) else " ".join(which)
        raise NotFound(f"Identity of customer {customer_id}", described)
    kind, value = identity.kind, identity.value
    if len(customer.identities) == 1:
        raise Conflict(
            "last-identity",
            "a customer keeps at least one identity: add the right one first, or merge the profile into "
            "the customer it belongs to",
            rule="last-identity",
        )
    await session.delete(identity)
    await add_events(
        session,
        CustomerIdentityRemoved(
            customer_id=customer_id,
            identity=Identity.model_validate({"kind": kind, "value": value}),
            actor=actor,
            reason=reason,
            removed_at=now,
        ),
    )
    _audit(session, customer_id, event="removed", kind=kind, value=value, reason=reason, actor=actor, now=now)
    await session.flush()
    return await _reloaded(session, customer_id)


def _audit(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    event: str,
    kind: str,
    value: str,
    reason: str | None,
    actor: str,
    now: datetime,
) -> None:
    summary = f"{kind.replace('_', ' ')} {value} {event}"
    history.record(
        session=session,
        customer_id=customer_id,
        kind=f"identity.{event}",
        ref_id=customer_id,
        summary=f"{summary}: {reason}" if reason else summary,
        occurred_at=now,
        actor=actor,
    )


async def _reloaded(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    session.expire_all()
    return await get_customer(session=session, customer_id=customer_id)
