"""/v1/subscriptions: webhooks for ops teams and systems, signed and retried."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.api.deps import Ops, SettingsDep, SubscriptionId, idempotency_scope
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


@router.get("", response_model=SubscriptionList, summary="Subscriptions, oldest first (the deleted ones on request)")
async def list_subscriptions(
    session: SessionDep,
    _: Ops,
    include_inactive: Annotated[
        bool, Query(description="also the deleted subscriptions (`active` false), which past deliveries name")
    ] = False,
) -> SubscriptionList:
    items = await subscription_service.list_subscriptions(session=session, include_inactive=include_inactive)
    return SubscriptionList(items=[SubscriptionRead.model_validate(s) for s in items])


@router.get("/{subscription_id:uuid}", response_model=SubscriptionRead, summary="A subscription (404 once deleted)")
async def get_subscription(subscription_id: SubscriptionId, session: SessionDep, _: Ops) -> SubscriptionRead:
    subscription = await subscription_service.get_subscription(session=session, subscription_id=subscription_id)
    return SubscriptionRead.model_validate(subscription)


@router.delete(
    "/{subscription_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a subscription: nothing more is sent to it, and what was queued is cancelled",
    responses={204: {"description": "Deleted: reads answer 404 from now on (the delivery log keeps naming it)"}},
)
async def delete_subscription(subscription_id: SubscriptionId, session: SessionDep, _: Ops) -> None:
    await subscription_service.delete_subscription(session=session, subscription_id=subscription_id)
    await session.commit()
