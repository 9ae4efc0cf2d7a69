"""/v1/notifications: the delivery log (every attempt), the dead-letter list, and replay."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.api.deps import NotificationId, Ops, conflict, idempotency_scope
from services.notifier.delivery import service as delivery_service
from services.notifier.delivery.schemas import NotificationList, NotificationRead, present
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once
from shared.web.pagination import Cursor, DeprecatedOffset, deprecated_offset, next_page_link

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])
Status = Literal["pending", "sending", "sent", "dead", "suppressed", "cancelled"]


@router.get(
    "",
    response_model=NotificationList,
    summary="Deliveries and their attempts, newest first (status=dead: the dead letters)",
)
async def list_notifications(
    request: Request,
    response: Response,
    session: SessionDep,
    _: Ops,
    status: Annotated[Status | None, Query(description="`dead`: the dead letters", examples=["dead"])] = None,
    subscription_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    problem_id: uuid.UUID | None = None,
    event_type: Annotated[str | None, Query(max_length=100, examples=["problem.detected"])] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
    cursor: Cursor = None,
    offset: DeprecatedOffset = 0,
) -> NotificationList:
    deliveries, next_cursor = await delivery_service.list_deliveries(
        session=session,
        status=status,
        subscription_id=subscription_id,
        customer_id=customer_id,
        problem_id=problem_id,
        event_type=event_type,
        limit=limit,
        cursor=cursor,
        offset=deprecated_offset(offset, cursor),
    )
    attempts = await delivery_service.attempts_of(session=session, delivery_ids=[d.id for d in deliveries])
    next_page_link(request, response, next_cursor)
    items = [present(d, attempts[d.id]) for d in deliveries]
    return NotificationList(items=items, next_cursor=next_cursor, limit=limit, offset=offset)


@router.get("/{notification_id:uuid}", response_model=NotificationRead, summary="A delivery and every attempt at it")
async def get_notification(notification_id: NotificationId, session: SessionDep, _: Ops) -> NotificationRead:
    delivery = await delivery_service.get_delivery(session=session, delivery_id=notification_id)
    attempts = await delivery_service.attempts_of(session=session, delivery_ids=[delivery.id])
    return present(delivery, attempts[delivery.id])


@router.post(
    "/{notification_id:uuid}/replay",
    response_model=NotificationRead,
    summary="Send a dead-lettered delivery again, with a fresh retry budget",
    responses=conflict(
        "`not-dead-lettered`: only a dead-lettered delivery is replayed (this one is pending, sending, sent, "
        "suppressed or cancelled)",
        slug="not-dead-lettered",
        detail="Only dead-lettered notifications can be replayed; this one is sent.",
    ),
)
async def replay_notification(
    notification_id: NotificationId, runtime: RuntimeDep, caller: Ops, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, object]:
        delivery = await delivery_service.replay(session=session, delivery_id=notification_id)
        attempts = await delivery_service.attempts_of(session=session, delivery_ids=[delivery.id])
        return 200, present(delivery, attempts[delivery.id]).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(caller, f"POST /v1/notifications/{notification_id}/replay"),
        key=idempotency_key,
        payload={},
        write=write,
    )
