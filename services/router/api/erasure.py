"""DELETE /v1/customers/{id}: the right to erasure, and the audit record it leaves (/v1/erasures/{id})."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.api.deps import Now, Router, Supervisor, declared, idempotency_scope
from services.router.erasure import service as erasure_service
from services.router.erasure.schemas import REASON_MAX, REASON_MIN, ErasureRead, ErasureRequest
from shared.errors import invalid
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once

router = APIRouter(tags=["customers"])
REASON_EXAMPLE = {"request": {"value": {"reason": "GDPR art. 17 request, ref. DPO-2026-114"}}}


@router.delete(
    "/v1/customers/{customer_id}",
    response_model=ErasureRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Erase a customer's personal data in every service (right to erasure); the ledger's amounts stay",
    responses={
        200: {"model": ErasureRead, "description": "The customer was erased before: the first request's record"},
        **declared(
            409,
            "`merged-customer`: the profile was merged into another; erase the survivor",
            slug="merged-customer",
            detail="customer 9b2f... was merged into 1c3e...",
        ),
        **declared(404, "No such customer", slug="not-found", detail="No customer with id 9b2f..."),
    },
)
async def erase_customer(
    customer_id: uuid.UUID,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: Supervisor,
    body: Annotated[ErasureRequest | None, Body(openapi_examples=REASON_EXAMPLE)] = None,
    reason: str | None = Query(
        None, min_length=REASON_MIN, max_length=REASON_MAX, description="the reason, when there is no body"
    ),
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    given, field = _reason(body, reason)
    secret = components.settings.secret_key.get_secret_value()

    async def write(session: AsyncSession) -> tuple[int, Any]:
        record, created = await erasure_service.request_erasure(
            session=session,
            customer_id=customer_id,
            reason=given,
            reason_field=field,
            actor=principal.key_id,
            secret=secret,
            now=now,
        )
        await session.flush()
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return code, ErasureRead.model_validate(record).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"DELETE /v1/customers/{customer_id}"),
        key=idempotency_key,
        payload={"reason": given},
        write=write,
        location=lambda body: f"/v1/erasures/{body['id']}",
    )


@router.get("/v1/erasures/{erasure_id}", response_model=ErasureRead, summary="An erasure's audit record")
async def get_erasure(erasure_id: uuid.UUID, session: SessionDep, _: Supervisor) -> ErasureRead:
    record = await erasure_service.get_erasure(session=session, erasure_id=erasure_id)
    return ErasureRead.model_validate(record)


def _reason(body: ErasureRequest | None, query: str | None) -> tuple[str, str]:
    """The reason from the body or the query string: exactly one of them."""
    if body is not None and query is not None:
        raise invalid("query.reason", "give the reason in the body or in the query string, not both")
    if body is not None:
        return body.reason, "body.reason"
    if query is None:
        raise invalid("query.reason", 'a reason is required (?reason= or a JSON body {"reason": ...})')
    return query, "query.reason"
