"""/v1/customers/{id}/preferences: a customer's address, channel and opt-out."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.api.deps import CustomerDesk, CustomerId, Reader, idempotency_scope
from services.notifier.customers import service as customer_service
from services.notifier.customers.schemas import CustomerPreferencesRead, PreferencesUpdate
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get(
    "/{customer_id:uuid}/preferences", response_model=CustomerPreferencesRead, summary="How a customer is reached"
)
async def get_preferences(customer_id: CustomerId, session: SessionDep, _: Reader) -> CustomerPreferencesRead:
    contact = await customer_service.get_contact(session=session, customer_id=customer_id)
    return CustomerPreferencesRead.model_validate(contact)


@router.put(
    "/{customer_id:uuid}/preferences",
    response_model=CustomerPreferencesRead,
    summary="Set a customer's email, preferred channel or opt-out (fields not sent are kept)",
)
async def put_preferences(
    customer_id: CustomerId,
    body: PreferencesUpdate,
    runtime: RuntimeDep,
    caller: CustomerDesk,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, object]:
        contact = await customer_service.set_preferences(session=session, customer_id=customer_id, update=body)
        return 200, CustomerPreferencesRead.model_validate(contact).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(caller, f"PUT /v1/customers/{customer_id}/preferences"),
        key=idempotency_key,
        payload=body.model_dump(mode="json", exclude_unset=True),
        write=write,
    )
