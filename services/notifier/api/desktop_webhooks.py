"""/v1/desktop-webhooks: what concerns an agent, a team or the whole contact center, pushed signed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.api.deps import CustomerDesk, SettingsDep, conflict, idempotency_scope
from services.notifier.desktop import webhooks
from services.notifier.desktop.schemas import (
    Audience,
    DesktopWebhookCreate,
    DesktopWebhookCreated,
    DesktopWebhookPage,
    DesktopWebhookRead,
    Team,
)
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, fingerprint, run_once
from shared.web.pagination import Cursor, Limit, next_page_link

router = APIRouter(prefix="/v1/desktop-webhooks", tags=["desktop webhooks"])
WebhookId = Annotated[uuid.UUID, Path(examples=["0b7f7a8e-1f43-4b8e-9d1c-6f5d2a7c9e10"])]
_OWN_AGENT: dict[int | str, dict[str, Any]] = {
    403: {"description": "An agent's key for another agent (`own-agent-only`), or a key without the scope"}
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DesktopWebhookCreated,
    summary="Subscribe a receiver to what concerns an agent, a team or the contact center (secret shown once)",
    responses={
        **_OWN_AGENT,
        **conflict(
            "The agent, team or center has as many webhooks as it may",
            slug="too-many-webhooks",
            detail="This agent has 10 webhooks already.",
        ),
    },
)
async def create_desktop_webhook(
    body: DesktopWebhookCreate,
    runtime: RuntimeDep,
    settings: SettingsDep,
    caller: CustomerDesk,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    desk = webhooks.Caller.of(caller)

    async def write(session: AsyncSession) -> tuple[int, object]:
        subscription = await webhooks.create_webhook(
            session=session, request=body, caller=desk, allow_http=settings.http_webhooks_allowed()
        )
        # Stored for replays without the secret: it is derived again below, never written anywhere.
        return 201, DesktopWebhookRead.model_validate(subscription).model_dump(mode="json")

    scope = idempotency_scope(caller, "POST /v1/desktop-webhooks")
    payload = body.model_dump(mode="json")
    result = await run_once(
        runtime.database,
        scope=scope,
        key=idempotency_key,
        request_fingerprint=fingerprint("", scope, payload),
        write=write,
    )
    webhook_id = uuid.UUID(result.body["id"])
    async with runtime.database.session() as session:
        secret = await webhooks.issued_secret(
            session=session, webhook_id=webhook_id, service_key=settings.secret_key.get_secret_value()
        )
    headers = {"Location": f"/v1/desktop-webhooks/{webhook_id}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse({**result.body, "secret": secret}, status_code=result.status_code, headers=headers)


@router.get("", response_model=DesktopWebhookPage, summary="Desktop webhooks, oldest first, a page at a time")
async def list_desktop_webhooks(
    request: Request,
    response: Response,
    session: SessionDep,
    caller: CustomerDesk,
    audience: Annotated[Audience | None, Query(description="only this audience")] = None,
    agent_id: Annotated[uuid.UUID | None, Query(description="only this agent's")] = None,
    team: Annotated[Team | None, Query(description="only this team's")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DesktopWebhookPage:
    items, next_cursor = await webhooks.list_webhooks(
        session=session,
        caller=webhooks.Caller.of(caller),
        audience=audience,
        agent_id=agent_id,
        team=team,
        limit=limit,
        cursor=cursor,
    )
    next_page_link(request, response, next_cursor)
    return DesktopWebhookPage(items=[DesktopWebhookRead.model_validate(s) for s in items], next_cursor=next_cursor)


@router.get(
    "/{webhook_id:uuid}",
    response_model=DesktopWebhookRead,
    summary="A desktop webhook (404 once deleted, or another agent's)",
)
async def get_desktop_webhook(webhook_id: WebhookId, session: SessionDep, caller: CustomerDesk) -> DesktopWebhookRead:
    subscription = await webhooks.get_webhook(session=session, webhook_id=webhook_id, caller=webhooks.Caller.of(caller))
    return DesktopWebhookRead.model_validate(subscription)


@router.delete(
    "/{webhook_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a desktop webhook: nothing more is sent to it, and what was queued is cancelled",
    responses={204: {"description": "Deleted: reads answer 404 from now on (the delivery log keeps naming it)"}},
)
async def delete_desktop_webhook(webhook_id: WebhookId, session: SessionDep, caller: CustomerDesk) -> None:
    await webhooks.delete_webhook(session=session, webhook_id=webhook_id, caller=webhooks.Caller.of(caller))
    await session.commit()
