"""Customer events in: the email addresses the router learns, so customers can be written to."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.customers import service as customer_service
from shared.events.catalogue import CustomerIdentityLinked, CustomerIdentityRemoved, CustomerRegistered


async def on_customer_registered(event: CustomerRegistered, session: AsyncSession) -> None:
    await customer_service.remember_customer(session=session, customer_id=event.customer_id, name=event.display_name)
    for identity in event.identities:
        if identity.kind == "email":
            await customer_service.learn_email(session=session, customer_id=event.customer_id, email=identity.value)


async def on_identity_linked(event: CustomerIdentityLinked, session: AsyncSession) -> None:
    if event.identity.kind == "email":
        await customer_service.learn_email(session=session, customer_id=event.customer_id, email=event.identity.value)


async def on_identity_removed(event: CustomerIdentityRemoved, session: AsyncSession) -> None:
    if event.identity.kind == "email":
        await customer_service.forget_email(session=session, customer_id=event.customer_id, email=event.identity.value)
