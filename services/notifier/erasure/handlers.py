"""The notifier's CustomerErased handler, for the consumer table (services/notifier/consumers)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.erasure.service import erase_customer
from shared.events.catalogue import CustomerErased, Event
from shared.messaging.inbox import EventHandler


async def on_customer_erased(event: CustomerErased, session: AsyncSession) -> None:
    await erase_customer(session=session, event=event)


HANDLERS: dict[type[Event], EventHandler] = {CustomerErased: on_customer_erased}
