"""Knowledge's CustomerErased handler, and the guard that skips later events about erased customers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.erasure.models import ErasedCustomer
from services.knowledge.erasure.service import erase_customer
from shared.erased import skipping_erased
from shared.events.catalogue import CustomerErased, Event
from shared.messaging.inbox import EventHandler


async def on_customer_erased(event: CustomerErased, session: AsyncSession) -> None:
    await erase_customer(session=session, event=event)


async def is_erased(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    return await session.get(ErasedCustomer, customer_id) is not None


def with_erasure(handlers: Mapping[type[Event], EventHandler]) -> dict[type[Event], EventHandler]:
    """The consumer table, erasing on CustomerErased and skipping events about customers erased before."""
    return skipping_erased(handlers, is_erased=is_erased, keep={CustomerErased: on_customer_erased})


HANDLERS: dict[type[Event], EventHandler] = {CustomerErased: on_customer_erased}  # for the AsyncAPI document
