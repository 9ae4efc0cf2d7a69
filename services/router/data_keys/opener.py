"""The router's own consumers open sealed words with the keys it holds (decision 0031), no HTTP.

The router consumes the notifier's problem events (context feeds, desktop problem links), whose summary and
reports are sealed per author (`fcs2:`). The other services ask the router for a customer's key
(shared/data_keys.py); the router reads its own `customer_data_keys` table, which erasure empties: an erased
author's report is left out and their summary reads ERASED_TEXT, exactly as in the other consumers.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select

from services.router.data_keys.models import CustomerDataKey
from shared.bus.port import PoisonEvent
from shared.db import Database
from shared.events.envelope import CloudEvent
from shared.runtime import ServiceRuntime
from shared.sealing import SealError, open_data, open_items, sealed_fields, sealed_item_authors, unwrap_key

log = logging.getLogger(__name__)


class OwnKeyOpener:
    """The router dispatcher's opener: sealed fields and items opened with keys from its own table."""

    def __init__(self, database: Database, kek: bytes) -> None:
        self.database, self.kek = database, kek

    async def __call__(self, envelope: CloudEvent) -> dict[str, Any] | None:
        data = envelope.data
        try:
            authors = sealed_item_authors(data)
            whole = sealed_fields(data)
            if not whole and not authors:
                return data
            keys = await self._keys({*authors, *([str(data.get("customer_id"))] if whole else [])})
            if whole:
                key = keys[str(data.get("customer_id"))]
                if key is None:
                    log.info("skipped %s %s: its customer was erased", envelope.type, envelope.id)
                    return None
                data = open_data(data, key)
            return open_items(data, {author: keys[author] for author in authors})
        except SealError as exc:
            raise PoisonEvent(f"{envelope.type} {envelope.id}: {exc}") from exc

    async def _keys(self, customer_ids: set[str]) -> dict[str, bytes | None]:
        """Each customer's key, None once erased; PoisonEvent if one never had a key (as the 404 elsewhere)."""
        try:
            ids = {customer_id: uuid.UUID(customer_id) for customer_id in customer_ids}
        except ValueError as exc:
            raise SealError("a sealed value names no customer") from exc
        async with self.database.session() as session:
            found = await session.execute(
                select(CustomerDataKey.customer_id, CustomerDataKey.wrapped_key).where(
                    CustomerDataKey.customer_id.in_(ids.values())
                )
            )
            rows: dict[uuid.UUID, bytes | None] = dict(found.all())
        keys: dict[str, bytes | None] = {}
        for customer_id, uid in ids.items():
            if uid not in rows:
                raise PoisonEvent(f"the router has no key for customer {customer_id}: its sealed words cannot open")
            wrapped = rows[uid]
            keys[customer_id] = None if wrapped is None else unwrap_key(self.kek, wrapped, customer_id)
        return keys


def open_with_own_keys(runtime: ServiceRuntime, kek: bytes) -> None:
    """Let every consumer of the router open sealed fields and items with the keys it holds."""
    for binding in runtime.consumers:
        binding.dispatcher.opener = OwnKeyOpener(runtime.database, kek)
