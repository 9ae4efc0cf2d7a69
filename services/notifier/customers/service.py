"""Knowing how to reach a customer and whether they want to hear from us."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers.models import CustomerContact
from services.notifier.customers.schemas import PreferencesUpdate
from services.notifier.subscriptions.models import Subscription
from shared.errors import NotFound

CONTACT_CENTER_TYPE = "customer.message"


@dataclass(frozen=True)
class Route:
    """Where one customer message goes now."""

    channel: str  # email or webhook
    endpoint: str
    secret: str | None = None
    subscription_id: uuid.UUID | None = None


async def remember_customer(*, session: AsyncSession, customer_id: uuid.UUID, name: str | None) -> CustomerContact:
    """Keep the name a customer gave, so messages can address them personally."""
    contact = await session.get(CustomerContact, customer_id)
    if contact is None:
        contact = CustomerContact(customer_id=customer_id, name=name, opted_out=False, updated_at=datetime.now(UTC))
        session.add(contact)
    elif name and contact.name != name:
        contact.name = name
        contact.updated_at = datetime.now(UTC)
    return contact


async def note_customer(*, session: AsyncSession, customer_id: uuid.UUID, name: str | None) -> None:
    """`remember_customer` in one statement that reads nothing: the contact inserted, or its name updated
    when one is given and differs (email, channel and opt-out untouched).

    A report's intake runs it before the detection lock rather than a read under it (0.7 ms a report,
    docs/notifier.md). Two replicas noting one new customer at once do not both insert: the second waits
    for the first's transaction, then updates. Nothing under the detection lock writes a contact, so the
    wait cannot close a cycle with the lock."""
    make = pg_insert if session.bind is not None and session.bind.dialect.name == "postgresql" else sqlite_insert
    values = {"customer_id": customer_id, "name": name, "opted_out": False, "updated_at": datetime.now(UTC)}
    statement = make(CustomerContact).values(values)
    renamed = statement.excluded.name
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CustomerContact.customer_id],
            set_={"name": renamed, "updated_at": statement.excluded.updated_at},
            where=renamed.is_not(None) & CustomerContact.name.is_distinct_from(renamed),
        )
    )


async def learn_email(*, session: AsyncSession, customer_id: uuid.UUID, email: str, name: str | None = None) -> None:
    """Record an email identity the router linked to a customer (the first one stays the address used)."""
    contact = await remember_customer(session=session, customer_id=customer_id, name=name)
    if contact.email is None:
        contact.email = email
        contact.updated_at = datetime.now(UTC)


async def forget_email(*, session: AsyncSession, customer_id: uuid.UUID, email: str) -> None:
    """Stop writing to an email the router took off the customer (it belonged to someone else)."""
    contact = await session.get(CustomerContact, customer_id)
    if contact is not None and contact.email is not None and contact.email.casefold() == email.casefold():
        contact.email = None
        contact.updated_at = datetime.now(UTC)


async def set_preferences(
    *, session: AsyncSession, customer_id: uuid.UUID, update: PreferencesUpdate
) -> CustomerContact:
    """Apply a customer's (or an agent's on their behalf) choice of address, channel or opt-out."""
    contact = await remember_customer(session=session, customer_id=customer_id, name=None)
    for field in update.model_fields_set:
        value = getattr(update, field)
        setattr(contact, field, str(value) if field == "email" and value is not None else value)
    contact.updated_at = datetime.now(UTC)
    await session.flush()
    return contact


async def get_contact(*, session: AsyncSession, customer_id: uuid.UUID) -> CustomerContact:
    """A customer's contact and preferences, or a 404 problem for a customer the notifier never saw."""
    contact = await session.get(CustomerContact, customer_id)
    if contact is None:
        raise NotFound("Customer", customer_id)
    return contact


CONTACTS_PER_QUERY = 1000


async def contacts_of(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CustomerContact]:
    """The known contacts of these customers, CONTACTS_PER_QUERY a statement. Hold on to the mapping: the
    session keeps a clean object only while someone refers to it, and a second `get` would read it again."""
    ids = sorted(set(customer_ids))
    found: dict[uuid.UUID, CustomerContact] = {}
    for start in range(0, len(ids), CONTACTS_PER_QUERY):
        page = ids[start : start + CONTACTS_PER_QUERY]
        found.update(
            (c.customer_id, c)
            for c in await session.scalars(select(CustomerContact).where(CustomerContact.customer_id.in_(page)))
        )
    return found


async def route_message(*, session: AsyncSession, customer_id: uuid.UUID) -> Route | str:
    """Where a message to this customer goes now, or why it cannot go ("opted out", "no channel")."""
    return await Routes(session).to(await session.get(CustomerContact, customer_id))


class Routes:
    """Routes for a batch of messages in one session: the contact center's subscription is read once for
    the batch, not once per customer (a resolution tells thousands)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._center: Subscription | None = None
        self._center_read = False

    async def to(self, contact: CustomerContact | None) -> Route | str:
        """`route_message` for a contact already read (None: none is known for the customer)."""
        if contact is not None and contact.opted_out:
            return "customer opted out"
        email = contact.email if contact is not None else None
        if email and (contact is None or contact.preferred_channel != "webhook"):
            return Route("email", email)
        center = await self._contact_center()
        if center is not None:
            return Route("webhook", center.url, center.secret, center.id)
        return Route("email", email) if email else "no channel: no email known and no customer.message subscription"

    async def _contact_center(self) -> Subscription | None:
        if not self._center_read:
            subscriptions = await self._session.scalars(
                select(Subscription)
                .where(Subscription.active.is_(True))
                .order_by(Subscription.created_at, Subscription.id)
            )
            self._center = next((s for s in subscriptions if CONTACT_CENTER_TYPE in s.event_types), None)
            self._center_read = True
        return self._center
