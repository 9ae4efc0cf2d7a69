"""/v1/subscriptions: webhooks for ops teams and systems, signed and retried."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.api.deps import Ops, SettingsDep, idempotency_scope
from services.notifier.subscriptions import service as subscription_service
from services.notifier.subscriptions.schemas import SubscriptionCreate, SubscriptionList, SubscriptionRead
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionRead,
    summary="Subscribe a webhook to event types (deliveries signed with the secret)",
)
async def create_subscription(
    body: SubscriptionCreate,
    runtime: RuntimeDep,
    settings: SettingsDep,
    caller: Ops,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, object]:
        subscription = await subscription_service.create_subscription(
            session=session, request=body, allow_http=settings.http_webhooks_allowed()
        )
        return 201, SubscriptionRead.model_validate(subscription).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(caller, "POST /v1/subscriptions"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
        location=lambda b: f"/v1/subscriptions/{b['id']}",
    )


@router.get("", response_model=SubscriptionList, summary="Active subscriptions")
async def list_subscriptions(session: SessionDep, _: Ops, include_inactive: bool = False) -> SubscriptionList:
    items = await subscription_service.list_subscriptions(session=session, include_inactive=include_inactive)
    return SubscriptionList(items=[SubscriptionRead.model_validate(s) for s in items])


@router.get("/{subscription_id}", response_model=SubscriptionRead, summary="A subscription")
async def get_subscription(subscription_id: uuid.UUID, session: SessionDep, _: Ops) -> SubscriptionRead:
    subscription = await subscription_service.get_subscription(session=session, subscription_id=subscription_id)
    return SubscriptionRead.model_validate(subscription)


@router.delete("/{subscription_id}", response_model=SubscriptionRead, summary="Stop a subscription")
async def delete_subscription(subscription_id: uuid.UUID, session: SessionDep, _: Ops) -> SubscriptionRead:
    subscription = await subscription_service.deactivate_subscription(session=session, subscription_id=subscription_id)
    await session.commit()
    return SubscriptionRead.model_validate(subscription)
