"""/v1/tickets: how contact-center software opens a ticket and reads it back."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.tickets import service as ticket_service
from services.router.tickets.schemas import TicketCreate, TicketRead
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, fingerprint, run_once

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketRead,
    summary="Open a ticket (send an Idempotency-Key so a retry cannot open it twice)",
    responses={201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
async def open_ticket(body: TicketCreate, runtime: RuntimeDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, object]:
        ticket = await ticket_service.open_ticket(session=session, request=body)
        return status.HTTP_201_CREATED, TicketRead.model_validate(ticket).model_dump(mode="json")

    result = await run_once(
        runtime.database,
        scope="POST /v1/tickets",
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", "/v1/tickets", body.model_dump(mode="json")),
        write=write,
    )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    if isinstance(result.body, dict) and "id" in result.body:
        headers["Location"] = f"/v1/tickets/{result.body['id']}"
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


@router.get("/{ticket_id}", response_model=TicketRead, summary="Read a ticket")
async def get_ticket(ticket_id: uuid.UUID, session: SessionDep) -> TicketRead:
    return TicketRead.model_validate(await ticket_service.get_ticket(session=session, ticket_id=ticket_id))
