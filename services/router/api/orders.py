"""/v1/orders: the orders that returns, refunds and replacements are decided against."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.api.deps import Intake, Now, Reader, Router, idempotency_scope
from services.router.orders import service as order_service
from services.router.orders.schemas import OrderCreate, OrderRead
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once

router = APIRouter(prefix="/v1/orders", tags=["orders"])


_LOCATION = {"Location": {"description": "where the order lives", "schema": {"type": "string"}}}


@router.post(
    "",
    response_model=OrderRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record an order (201), or get the one already recorded under the same source and reference (200)",
    responses={
        201: {"description": "The order, recorded now", "headers": _LOCATION},
        200: {
            "model": OrderRead,
            "description": "An order with this `source` and `external_ref` was recorded before: that order, as "
            "recorded (nothing is written; the body's other fields are not compared)",
            "headers": _LOCATION,
        },
    },
)
async def record_order(
    body: OrderCreate,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: Intake,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        order, created = await order_service.record_order(
            session=session, request=body, settings=components.settings, actor=principal.key_id, now=now
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return code, OrderRead.model_validate(order).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, "POST /v1/orders"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
        location=lambda body: f"/v1/orders/{body['id']}",
    )


@router.get("/{order_id}", response_model=OrderRead, summary="An order with its lines")
async def get_order(order_id: uuid.UUID, session: SessionDep, _: Reader) -> OrderRead:
    return OrderRead.model_validate(await order_service.get_order(session=session, order_id=order_id))
