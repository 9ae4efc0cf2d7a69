"""Recording orders from the API or a commerce system, once each, for the customer who placed them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.router.customers import service as customer_service
from services.router.history import service as history
from services.router.orders.models import Order, OrderItem
from services.router.orders.schemas import OrderCreate
from services.router.settings import RouterSettings
from shared.errors import NotFound
from shared.events.catalogue import OrderRecorded
from shared.messaging.outbox import add_events


async def record_order(
    *, session: AsyncSession, request: OrderCreate, settings: RouterSettings, actor: str, now: datetime
) -> tuple[Order, bool]:
    """Store an order (or return the one already recorded under its source and reference)."""
    if request.external_ref is not None:
        existing = await session.scalar(
            select(Order)
            .where(Order.source == request.source, Order.external_ref == request.external_ref)
            .options(selectinload(Order.items))
        )
        if existing is not None:
            return existing, False
    if request.customer is not None:
        pairs = customer_service.identity_pairs(
            request.customer, phone_region=settings.default_phone_region, field_prefix="body.customer"
        )
        recognition = await customer_service.recognise(
            session=session, pairs=pairs, name=request.customer.name, now=now
        )
        customer_id = recognition.customer.id
    else:
        assert request.customer_id is not None  # the schema requires exactly one of the two
        customer_id = (await customer_service.get_customer(session=session, customer_id=request.customer_id)).id
    order = Order(
        id=uuid.uuid4(),
        customer_id=customer_id,
        source=request.source,
        external_ref=request.external_ref,
        currency=request.currency,
        total=request.computed_total,
        ordered_at=request.ordered_at,
        delivered_at=request.delivered_at,
        created_at=now,
        items=[
            OrderItem(
                position=index,
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for index, line in enumerate(request.lines)
        ],
    )
    session.add(order)
    history.record(
        session=session,
        customer_id=customer_id,
        kind="order.recorded",
        ref_id=order.id,
        summary=f"order {request.external_ref or order.id}: {order.total} {order.currency}",
        occurred_at=request.ordered_at,
        actor=actor,
    )
    await add_events(
        session,
        OrderRecorded(
            customer_id=customer_id,
            order_id=order.id,
            external_ref=request.external_ref,
            total=order.total,
            currency=order.currency,
            ordered_at=order.ordered_at,
        ),
    )
    await session.flush()
    return order, True


async def get_order(*, session: AsyncSession, order_id: uuid.UUID) -> Order:
    """An order with its lines, or a 404 problem."""
    order = await session.scalar(select(Order).where(Order.id == order_id).options(selectinload(Order.items)))
    if order is None:
        raise NotFound("Order", order_id)
    return order


async def orders_of(*, session: AsyncSession, customer_id: uuid.UUID, limit: int = 20) -> Sequence[Order]:
    """A customer's latest orders with their lines."""
    return (
        await session.scalars(
            select(Order)
            .where(Order.customer_id == customer_id)
            .options(selectinload(Order.items))
            .order_by(Order.ordered_at.desc())
            .limit(limit)
        )
    ).all()
