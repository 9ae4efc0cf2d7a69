"""Knowledge's CustomerErased handler, for the consumer table (services/knowledge/consumers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.erasure.service import erase_customer
from shared.events.catalogue import CustomerErased, Event


async def on_customer_erased(event: CustomerErased, session: AsyncSession, **_: Any) -> None:
    await erase_customer(session=session, event=event)


HANDLERS: dict[type[Event], Any] = {CustomerErased: on_customer_erased}
