"""Consumers that leave erased customers alone.

Kafka keeps order within a partition only: a ticket event published just before a customer's erasure may
reach a service after CustomerErased (another topic), and a replay of a topic brings old events back. Each
service that erases keeps the erased customers' ids and skips any later event about them, so nothing it
erased comes back. The ids are random UUIDs, not personal data.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.catalogue import Event
from shared.messaging.inbox import EventHandler

IsErased = Callable[[AsyncSession, uuid.UUID], Awaitable[bool]]


def skipping_erased(
    handlers: Mapping[type[Event], EventHandler], *, is_erased: IsErased, keep: Mapping[type[Event], EventHandler]
) -> dict[type[Event], EventHandler]:
    """The table with every handler of an event about a customer guarded; `keep` (the erasure's own) added as is."""
    guarded = {
        cls: _guarded(handler, is_erased) if "customer_id" in cls.model_fields else handler
        for cls, handler in handlers.items()
    }
    return {**guarded, **keep}


def _guarded(handler: EventHandler, is_erased: IsErased) -> EventHandler:
    async def handle(event: Any, session: AsyncSession) -> None:
        if not await is_erased(session, event.customer_id):
            await handler(event, session)

    return handle
