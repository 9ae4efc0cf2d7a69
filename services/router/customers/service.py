"""One customer across every channel: recognise, look up, merge, and hand over to a new owner."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from services.router.customers.identities import normalise_phone
from services.router.customers.models import Customer, CustomerIdentity
from services.router.customers.schemas import CustomerRef
from services.router.erasure import service as erasure_service
from services.router.erasure.models import CustomerErasure
from services.router.history import service as history
from shared.errors import NotFound, ProblemError, invalid
from shared.events.catalogue import CustomerIdentityLinked, CustomerRegistered, Identity
from shared.inserts import insert_new, stage_new
from shared.messaging.outbox import add_events

# Strongest first: an id in another system beats an email, an email beats a (shareable) phone.
_STRENGTH = {"external_id": 0, "email": 1, "phone": 2}


@dataclass
class Recognition:
    customer: Customer
    created: bool
    linked: list[tuple[str, str]] = field(default_factory=list)
    other_matches: list[uuid.UUID] = field(default_factory=list)  # profiles that look like the same person


def identity_pairs(ref: CustomerRef, *, phone_region: str | None, field_prefix: str) -> list[tuple[str, str]]:
    """(kind, normalised value) pairs, strongest first; an unusable phone is a 422 naming the field."""
    pairs = []
    if ref.external_id:
        pairs.append(("external_id", ref.external_id))
    if ref.email:
        pairs.append(("email", ref.email))
    if ref.phone:
        pairs.append(("phone", phone_or_problem(ref.phone, phone_region, f"{field_prefix}.phone")))
    return pairs


def phone_or_problem(value: str, region: str | None, field_name: str) -> str:
    try:
        return normalise_phone(value, region)
    except ValueError as exc:
        raise invalid(field_name, str(exc)) from exc


@functools.cache
def _identities_with_owners(pairs: int) -> Select[CustomerIdentity]:
    """The identities matching `pairs` (kind, value) pairs, with their customers: built once per count.

    A request names one to three identities. One statement per count keeps each fully cached; an expanding
    IN parameter is rendered into new SQL at every execution (~4% of the router's CPU opening tickets, py-spy).
    """
    matches = [
        and_(CustomerIdentity.kind == bindparam(f"kind{n}"), CustomerIdentity.value == bindparam(f"value{n}"))
        for n in range(pairs)
    ]
    return select(CustomerIdentity).where(or_(*matches)).options(joinedload(CustomerIdentity.customer))


async def recognise(
    *,
    session: AsyncSession,
    pairs: list[tuple[str, str]],
    name: str | None,
    now: datetime,
    at_commit: bool = False,
) -> Recognition:
    """The customer behind these identities (a new profile if none); new identities are linked.

    New rows are written at once, so that an identity another request just took conflicts here and the
    caller's retry finds it; with `at_commit` they are staged (shared/inserts.py) and that conflict comes at
    commit, one round trip fewer, for a caller that writes nothing referring to them through the ORM.
    """
    parameters: dict[str, str] = {}
    for n, (kind, value) in enumerate(pairs):
        parameters[f"kind{n}"], parameters[f"value{n}"] = kind, value
    known = (await session.scalars(_identities_with_owners(len(pairs)), parameters)).all() if pairs else []
    by_pair = {(identity.kind, identity.value): identity for identity in known}
    owners = [by_pair[pair].customer for pair in pairs if pair in by_pair]
    owners = [await _live(session, customer) for customer in owners]
    if owners:
        result = Recognition(owners[0], created=False)
        result.other_matches = list(dict.fromkeys(c.id for c in owners[1:] if c.id != owners[0].id))
        if name and not result.customer.display_name:
            result.customer.display_name = name
    else:
        result = Recognition(Customer(id=uuid.uuid4(), display_name=name, created_at=now), created=True)
    result.linked = [pair for pair in pairs if pair not in by_pair]
    identities = [
        CustomerIdentity(id=uuid.uuid4(), customer_id=result.customer.id, kind=kind, value=value, created_at=now)
        for kind, value in result.linked
    ]
    # Not left to the next flush (see above). A new profile is only ever read back from this object.
    new_rows = [*([result.customer] if result.created else []), *identities]
    if at_commit:
        stage_new(session, *new_rows)
    else:
        await insert_new(session, *new_rows)
    await _announce(session, result, now)
    return result


async def live_customer(*, session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    """The profile that holds `customer_id`'s identities and history now: itself, or the merge survivor."""
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("Customer", customer_id)
    return await _live(session, customer)


async def _live(session: AsyncSession, customer: Customer) -> Customer:
    """Follow merge tombstones to the surviving profile."""
    while customer.merged_into_id is not None:
        survivor = await session.get(Customer, customer.merged_into_id)
        if survivor is None:
            raise NotFound("Customer", customer.merged_into_id)
        customer = survivor
    return customer


async def _announce(session: AsyncSession, result: Recognition, now: datetime) -> None:
    customer = result.customer
    if result.created:
        identities = [Identity(kind=k, value=v) for k, v in result.linked]
        await add_events(
            session,
            CustomerRegistered(
                customer_id=customer.id, display_name=customer.display_name, identities=identities, registered_at=now
            ),
        )
        return
    for kind, value in result.linked:
        await add_events(
            session,
            CustomerIdentityLinked(customer_id=customer.id, identity=Identity(kind=kind, value=value), linked_at=now),
        )
        history.record(
            session=session,
            customer_id=customer.id,
            kind="identity.linked",
            ref_id=customer.id,
            summary=f"{kind.replace('_', ' ')} {value} linked",
            occurred_at=now,
        )


async def get_customer(*, session: AsyncSession, customer_id: uuid.UUID, lock: bool = False) -> Customer:
    """A customer with identities, or a 404 problem; `lock` holds the customer's row until commit."""
    query = select(Customer).where(Customer.id == customer_id).options(selectinload(Customer.identities))
    customer = await session.scalar(query.with_for_update(of=Customer) if lock else query)
    if customer is None:
        raise NotFound("Customer", customer_id)
    return customer


class CustomerErased(ProblemError):
    """Asked for a customer whose personal data was erased: gone for good, not merely not found."""

    def __init__(self, customer_id: uuid.UUID, erasure_id: uuid.UUID) -> None:
        super().__init__(
            410,
            "customer-erased",
            "Customer erased",
            f"customer {customer_id} was erased (right to erasure); GET /v1/erasures/{erasure_id} has the audit",
            erasure_id=str(erasure_id),
        )


async def erasure_of(*, session: AsyncSession, customer_id: uuid.UUID, secret: str) -> CustomerErasure | None:
    """The erasure record of this customer, if they asked for erasure (the record names them by digest only)."""
    digest = erasure_service.subject_digest(customer_id=customer_id, secret=secret)
    return await session.scalar(select(CustomerErasure).where(CustomerErasure.subject_digest == digest))


async def ensure_not_erased(*, session: AsyncSession, customer_id: uuid.UUID, secret: str) -> None:
    """A 410 problem naming the erasure record once a customer's erasure is recorded (pending or completed)."""
    record = await erasure_of(session=session, customer_id=customer_id, secret=secret)
    if record is not None:
        raise CustomerErased(customer_id, record.id)


async def find_by_identity(*, session: AsyncSession, kind: str, value: str) -> Customer:
    """The (surviving) customer known by one identity, or a 404 problem."""
    identity = await session.scalar(
        select(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
    )
    if identity is None:
        raise NotFound("Customer", f"{kind} {value}")
    customer = await get_customer(session=session, customer_id=identity.customer_id)
    return await _live(session, customer)


def sort_strongest(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(pairs, key=lambda pair: _STRENGTH[pair[0]])


def utcnow() -> datetime:
    return datetime.now(UTC)
