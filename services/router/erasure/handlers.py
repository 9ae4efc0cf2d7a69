"""The router's part of an erasure, run when its own CustomerErased comes back through the bus (inbox)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.router.erasure.scrub import erase_customer
from shared.events.catalogue import CustomerErased, Event
from shared.messaging.inbox import EventHandler


async def on_customer_erased(event: CustomerErased, session: AsyncSession) -> None:
    await erase_customer(session=session, event=event, now=datetime.now(UTC))


HANDLERS: dict[type[Event], EventHandler] = {CustomerErased: on_customer_erased}
