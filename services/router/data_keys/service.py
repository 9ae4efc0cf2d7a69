"""Customers' data keys in the router: made on first need, handed to the other services, destroyed by erasure.

The router seals the personal fields of its events with the customer's key as it writes them to the outbox
(`CustomerSealer`, decision 0031); knowledge, the notifier and the helpdesk bridge fetch the key once to open
them. Erasure keeps a tombstone without the key: its answer becomes 410, and nothing can make a new key for
an erased customer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.customers import service as customers_service
from services.router.customers.models import Customer
from services.router.data_keys.models import CustomerDataKey
from shared.db import insert_ignoring_duplicates
from shared.errors import NotFound, ProblemError
from shared.events.envelope import CloudEvent
from shared.inserts import stage_rows, staged
from shared.messaging.outbox import sealer_of
from shared.sealing import (
    SealError,
    new_data_key,
    open_data,
    open_items,
    seal_data,
    sealed_fields,
    sealed_item_authors,
    shown_sealed,
    to_seal,
    unwrap_key,
    wrap_key,
)

_TABLE = cast(Table, CustomerDataKey.__table__)
_CUSTOMERS = cast(Table, Customer.__table__)
_SESSION_KEYS = "firstcall.data_keys"


class DataKeyErased(ProblemError):
    """The customer was erased: their key is gone, and with it every sealed field about them."""

    def __init__(self, customer_id: uuid.UUID) -> None:
        super().__init__(
            410, "customer-erased", "Customer erased", f"customer {customer_id} was erased; their data key is gone"
        )


async def data_key(*, session: AsyncSession, customer_id: uuid.UUID, kek: bytes) -> bytes | None:
    """The customer's data key, made and stored (wrapped) on first need; None once they were erased."""
    wrapped = await _stored(session, customer_id)
    if wrapped is None:
        # Two transactions may need the first key at once: one inserts, the other waits and reads it.
        key = new_data_key()
        values = {"customer_id": customer_id, "wrapped_key": wrap_key(kek, key, str(customer_id))}
        if await insert_ignoring_duplicates(session, _TABLE, {**values, "created_at": datetime.now(UTC)}):
            return key
        wrapped = await _stored(session, customer_id)
    return None if wrapped is None or wrapped[0] is None else unwrap_key(kek, wrapped[0], str(customer_id))


async def key_for_service(*, session: AsyncSession, customer_id: uuid.UUID, kek: bytes, secret: str) -> bytes:
    """The key a consuming service asked for: 410 once an erasure is recorded, 404 if none was ever made."""
    if await customers_service.erasure_of(session=session, customer_id=customer_id, secret=secret) is not None:
        raise DataKeyErased(customer_id)
    wrapped = await _stored(session, customer_id)
    if wrapped is None:
        raise NotFound("Data key of customer", customer_id)
    if wrapped[0] is None:
        raise DataKeyErased(customer_id)
    return unwrap_key(kek, wrapped[0], str(customer_id))


async def destroy_keys(*, session: AsyncSession, customer_ids: list[uuid.UUID], now: datetime) -> int:
    """Destroy the customers' keys (erasure), leaving tombstones so no new key is ever made for them."""
    result = await session.execute(
        update(CustomerDataKey)
        .where(CustomerDataKey.customer_id.in_(customer_ids))
        .values(wrapped_key=None, erased_at=now)
    )
    for customer_id in customer_ids:
        tombstone = {"customer_id": customer_id, "wrapped_key": None, "created_at": now, "erased_at": now}
        await insert_ignoring_duplicates(session, _TABLE, tombstone)
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class CustomerSealer:
    """The outbox's sealer for the router: each event's personal fields under its customer's key."""

    kek: bytes

    async def __call__(self, session: AsyncSession, envelopes: list[CloudEvent]) -> list[CloudEvent]:
        keys = _transaction_keys(session)
        sealed = []
        for envelope in envelopes:
            customer = to_seal(envelope.type, envelope.data)
            if customer is None:
                sealed.append(envelope)
                continue
            if customer not in keys:
                customer_id = uuid.UUID(customer)
                if staged(session, _CUSTOMERS, id=customer_id):
                    keys[customer] = _stage_new_key(session, customer_id, self.kek)
                else:
                    # An erased customer gets a key nobody keeps: what is sealed with it never opens.
                    found = await data_key(session=session, customer_id=customer_id, kek=self.kek)
                    keys[customer] = found or new_data_key()
            data = seal_data(envelope.type, envelope.data, keys[customer])
            sealed.append(envelope.model_copy(update={"data": data}))
        return sealed


def _stage_new_key(session: AsyncSession, customer_id: uuid.UUID, kek: bytes) -> bytes:
    """The key of a customer this transaction creates: no row can exist for them yet, so nothing is read, and
    its row goes into the commit's one INSERT with the customer's (decisions 0031, 0043). Rolled back, neither
    was ever stored."""
    key = new_data_key()
    wrapped = wrap_key(kek, key, str(customer_id))
    stage_rows(
        session, [(_TABLE, {"customer_id": customer_id, "wrapped_key": wrapped, "created_at": datetime.now(UTC)})]
    )
    return key


async def opened(session: AsyncSession, data: Mapping[str, Any]) -> dict[str, Any]:
    """An event the router sealed, as the router itself shows it (desktop notices): opened, or its sealed
    fields marked as such once the customer is erased; a text sealed for its author (a problem's summary told
    to another customer's agent) opened, or ERASED_TEXT once they are erased."""
    sealer = sealer_of(session)
    if not isinstance(sealer, CustomerSealer):
        return dict(data)
    data = await _opened_texts(session, sealer.kek, data)
    if not sealed_fields(data):
        return dict(data)
    customer_id = str(data.get("customer_id"))
    wrapped = await _stored(session, uuid.UUID(customer_id))
    if wrapped is None or wrapped[0] is None:
        return dict(shown_sealed(data))
    try:
        return open_data(data, unwrap_key(sealer.kek, wrapped[0], customer_id))
    except SealError:
        return dict(shown_sealed(data))


async def _opened_texts(session: AsyncSession, kek: bytes, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The data with its `fcs2:` values opened with their authors' keys, as the other services' opener does."""
    try:
        authors = sealed_item_authors(data)
        if not authors:
            return data
        keys: dict[str, bytes | None] = {}
        for author in sorted(authors):
            wrapped = await _stored(session, uuid.UUID(author))
            keys[author] = None if wrapped is None or wrapped[0] is None else unwrap_key(kek, wrapped[0], author)
        return open_items(data, keys)
    except (SealError, ValueError):
        return shown_sealed(data)  # type: ignore[no-any-return]


def _transaction_keys(session: AsyncSession) -> dict[str, bytes]:
    """Keys already read in this transaction: a request stages its events in several calls, mostly about one
    customer. Never beyond it: a key made in a transaction that rolls back was never stored."""
    transaction = session.sync_session.get_transaction()
    kept: tuple[object, dict[str, bytes]] | None = session.info.get(_SESSION_KEYS)
    if transaction is None or kept is None or kept[0] is not transaction:
        kept = (transaction, {})
        session.info[_SESSION_KEYS] = kept
    return kept[1]


async def _stored(session: AsyncSession, customer_id: uuid.UUID) -> tuple[bytes | None] | None:
    row = (
        await session.execute(select(CustomerDataKey.wrapped_key).where(CustomerDataKey.customer_id == customer_id))
    ).first()
    return None if row is None else (row[0],)
