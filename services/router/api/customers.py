"""/v1/customers: one customer across every channel, their history, merges and account owner."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.api.deps import Now, Reader, Router, Supervisor, declared, idempotency_scope
from services.router.customers import merging
from services.router.customers import service as customer_service
from services.router.customers.identities import normalise_email, normalise_external_id, normalise_phone
from services.router.customers.schemas import ActivityRead, CustomerMerge, CustomerRead, HistoryPage, OwnerChange
from services.router.history import service as history
from services.router.preconditions import ETAG_HEADER, PRECONDITION_FAILED, IfMatch
from shared.errors import invalid
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once
from shared.web.pagination import Cursor, Limit, next_page_link

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get(
    "",
    response_model=CustomerRead,
    summary="Find the customer behind exactly one identity: ?email=, ?phone= or ?external_id=system:id",
    responses={
        200: {"headers": ETAG_HEADER},
        **declared(
            404, "No customer has this identity", slug="not-found", detail="No customer with id email ada@example.com"
        ),
    },
)
async def find_customer(
    response: Response,
    session: SessionDep,
    components: Router,
    _: Reader,
    email: str | None = Query(None, max_length=320),
    phone: str | None = Query(None, max_length=40),
    external_id: str | None = Query(None, max_length=200),
) -> CustomerRead:
    given = {name: value for name, value in (("email", email), ("phone", phone), ("external_id", external_id)) if value}
    if len(given) != 1:
        raise invalid("query", "give exactly one of ?email=, ?phone= or ?external_id=system:id")
    [(kind, raw)] = given.items()
    value = _normalised(kind, raw, components.settings.default_phone_region)
    customer = await customer_service.find_by_identity(session=session, kind=kind, value=value)
    return _tagged(CustomerRead.model_validate(customer), response)


def _tagged(read: CustomerRead, response: Response) -> CustomerRead:
    response.headers["ETag"] = preconditions.entity_tag(read)
    return read


def _normalised(kind: str, raw: str, region: str | None) -> str:
    try:
        if kind == "phone":
            return normalise_phone(_plus_restored(raw), region)
        return normalise_email(raw) if kind == "email" else normalise_external_id(raw)
    except ValueError as exc:
        hint = "; in a query string write + as %2B (?phone=%2B442079460958)" if kind == "phone" else ""
        raise invalid(f"query.{kind}", f"{exc}{hint}") from exc


def _plus_restored(phone: str) -> str:
    """`?phone=+44...` unencoded reaches us as ` 44...` (a `+` in a query string means a space): a phone
    number never starts with a space, so a leading space before a digit is read as the `+` it was."""
    digits = phone.lstrip(" ")
    return "+" + digits if phone != digits and digits[:1].isdigit() else phone


@router.get(
    "/{customer_id}",
    response_model=CustomerRead,
    summary="A customer with every identity",
    responses={
        200: {"headers": ETAG_HEADER},
        **declared(
            410,
            "`customer-erased`: the customer's personal data was erased; `erasure_id` names the audit record",
            slug="customer-erased",
            detail="customer 9b2f... was erased (right to erasure); GET /v1/erasures/4d1a... has the audit",
            erasure_id="4d1a...",
        ),
    },
)
async def get_customer(
    customer_id: uuid.UUID, response: Response, session: SessionDep, components: Router, _: Reader
) -> CustomerRead:
    secret = components.settings.secret_key.get_secret_value()
    await customer_service.ensure_not_erased(session=session, customer_id=customer_id, secret=secret)
    customer = await customer_service.get_customer(session=session, customer_id=customer_id)
    return _tagged(CustomerRead.model_validate(customer), response)


@router.get(
    "/{customer_id}/history",
    response_model=HistoryPage,
    summary="Tickets, orders, returns, credits, notes and transfers, newest first, cursor-paginated",
)
async def get_history(
    customer_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    _: Reader,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> HistoryPage:
    await customer_service.get_customer(session=session, customer_id=customer_id)
    items, next_cursor = await history.page(session=session, customer_id=customer_id, limit=limit, cursor=cursor)
    next_page_link(request, response, next_cursor)
    return HistoryPage(items=[ActivityRead.model_validate(a) for a in items], next_cursor=next_cursor)


@router.post(
    "/{customer_id}/merge",
    response_model=CustomerRead,
    summary="Fold a duplicate profile into this one, atomically: history, orders, credits and tickets follow",
    responses=declared(
        409,
        "`already-merged`: one of the two profiles was already merged into another",
        slug="already-merged",
        detail="customer 9b2f... was already merged into another profile",
    ),
)
async def merge(
    customer_id: uuid.UUID,
    body: CustomerMerge,
    runtime: RuntimeDep,
    now: Now,
    principal: Supervisor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        customer, _ = await merging.merge_customers(
            session=session,
            survivor_id=customer_id,
            merged_id=body.merge_customer_id,
            reason=body.reason,
            actor=principal.key_id,
            now=now,
        )
        return status.HTTP_200_OK, CustomerRead.model_validate(customer).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/customers/{customer_id}/merge"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )


@router.put(
    "/{customer_id}/owner",
    response_model=CustomerRead,
    summary="Give the account a new owner, who receives a handoff briefing (AccountOwnerChanged)",
    responses={
        200: {"headers": ETAG_HEADER},
        **declared(
            409,
            "`merged-customer`: the profile was merged into another; change the survivor's owner",
            slug="merged-customer",
            detail="customer 9b2f... was merged into 1c3e...",
        ),
        **PRECONDITION_FAILED,
    },
)
async def change_owner(
    customer_id: uuid.UUID,
    body: OwnerChange,
    response: Response,
    session: SessionDep,
    now: Now,
    principal: Supervisor,
    if_match: IfMatch = None,
) -> CustomerRead:
    customer = await merging.change_owner(
        session=session,
        customer_id=customer_id,
        agent_id=body.agent_id,
        actor=principal.key_id,
        now=now,
        expected=preconditions.expected(if_match),
    )
    await session.commit()
    customer = await customer_service.get_customer(session=session, customer_id=customer.id)
    return _tagged(CustomerRead.model_validate(customer), response)
