"""/v1/customers (create), /{id}/identities and /{id}/unmerge: profiles made and corrected by hand."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.api.deps import Intake, Now, Router, Supervisor, declared, idempotency_scope
from services.router.customers import corrections, unmerging
from services.router.customers.identities import normalise_email, normalise_external_id, normalise_phone
from services.router.customers.schemas import (
    CustomerCreate,
    CustomerRead,
    CustomerUnmerge,
    IdentityCreate,
    UnmergeRead,
)
from services.router.customers.service import identity_pairs
from services.router.preconditions import ETAG_HEADER, PRECONDITION_FAILED, IfMatch
from shared.errors import invalid
from shared.events.catalogue import IdentityKind
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once

router = APIRouter(prefix="/v1/customers", tags=["customers"])

_MERGED = declared(
    409,
    "`merged-customer`: the profile was merged into another; correct the survivor",
    slug="merged-customer",
    detail="customer 9b2f... was merged into 1c3e...",
)


def normalised(kind: IdentityKind, raw: str, region: str | None, field: str) -> str:
    """The identity as recognition stores it, or a 422 naming `field`."""
    try:
        if kind == "phone":
            return normalise_phone(raw, region)
        return normalise_email(raw) if kind == "email" else normalise_external_id(raw)
    except ValueError as exc:
        hint = "; write it in E.164 (+442079460958; in a URL `+` or %2B)" if kind == "phone" else ""
        raise invalid(field, f"{exc}{hint}") from exc


def _with_etag(response: JSONResponse) -> JSONResponse:
    """The customer in the body, tagged as GET tags it, so the next correction can send it in If-Match."""
    if response.status_code < 300:
        response.headers["ETag"] = preconditions.entity_tag(orjson.loads(bytes(response.body)))
    return response


@router.post(
    "",
    response_model=CustomerRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a customer directly, before any ticket, with identities no other customer has",
    responses={
        201: {"headers": {**ETAG_HEADER, "Location": {"description": "the customer", "schema": {"type": "string"}}}},
        **declared(
            409,
            "`identity-belongs-to-another-customer`: one identity is another customer's (`customer_id` names "
            "them): add the others to that customer instead",
            slug="identity-belongs-to-another-customer",
            detail="email ada@example.com belongs to customer 1c3e...",
        ),
    },
)
async def create_customer(
    body: CustomerCreate,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: Intake,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    pairs = identity_pairs(body, phone_region=components.settings.default_phone_region, field_prefix="body")

    async def write(session: AsyncSession) -> tuple[int, Any]:
        customer = await corrections.create_customer(
            session=session,
            pairs=pairs,
            name=body.name,
            actor=principal.key_id,
            now=now,
        )
        return status.HTTP_201_CREATED, CustomerRead.model_validate(customer).model_dump(mode="json")

    response = await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, "POST /v1/customers"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
        location=lambda created: f"/v1/customers/{created['id']}",
    )
    return _with_etag(response)


@router.post(
    "/{customer_id}/identities",
    response_model=CustomerRead,
    status_code=status.HTTP_201_CREATED,
    summary="Link an identity to the customer (201; 200 if it was theirs already); audited",
    responses={
        200: {"model": CustomerRead, "description": "The identity was the customer's already: nothing changed"},
        201: {"headers": ETAG_HEADER},
        **declared(
            409,
            "`identity-belongs-to-another-customer` (`customer_id` names them: merge, or remove it there first); "
            "`too-many-identities`; `merged-customer`",
            slug="identity-belongs-to-another-customer",
            detail="phone +442079460958 belongs to customer 1c3e...: if they are the same person, merge the profiles",
        ),
        **PRECONDITION_FAILED,
    },
)
async def link_customer_identity(
    customer_id: uuid.UUID,
    body: IdentityCreate,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: Supervisor,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    value = normalised(body.kind, body.value, components.settings.default_phone_region, "body.value")

    async def write(session: AsyncSession) -> tuple[int, Any]:
        customer, added = await corrections.add_identity(
            session=session,
            customer_id=customer_id,
            kind=body.kind,
            value=value,
            reason=body.reason,
            actor=principal.key_id,
            now=now,
            expected=preconditions.expected(if_match),
        )
        code = status.HTTP_201_CREATED if added else status.HTTP_200_OK
        return code, CustomerRead.model_validate(customer).model_dump(mode="json")

    response = await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/customers/{customer_id}/identities"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
    return _with_etag(response)


_REMOVAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": ETAG_HEADER},
    **declared(
        409,
        "`last-identity`: a customer keeps at least one identity; `merged-customer`",
        slug="last-identity",
        detail="a customer keeps at least one identity: add the right one first, or merge the profile",
    ),
    **declared(
        404,
        "The customer, or this identity of theirs, is unknown",
        slug="not-found",
        detail="No identity of customer 1c3e... with id phone +442079460958",
    ),
    **PRECONDITION_FAILED,
}
Reason = Annotated[str | None, Query(max_length=500, description="why, for the customer's history")]


@router.delete(
    "/{customer_id}/identities/{kind}/{value}",
    response_model=CustomerRead,
    summary="Take an identity off the customer (linked to the wrong person), by its value; audited",
    responses=_REMOVAL_RESPONSES,
)
async def remove_customer_identity(
    customer_id: uuid.UUID,
    kind: Literal["email", "phone", "external_id"],
    value: Annotated[
        str,
        Path(
            max_length=320,
            description="as stored or as a channel writes it: `+442079460958` (in a path `+` is a plus; `%2B` "
            "works too), `ada@example.com`, `helpdesk:4711`; an external id holding `/` is removed by its id",
        ),
    ],
    response: Response,
    session: SessionDep,
    components: Router,
    now: Now,
    principal: Supervisor,
    reason: Reason = None,
    if_match: IfMatch = None,
) -> CustomerRead:
    value = normalised(kind, value, components.settings.default_phone_region, "path.value")
    which = (kind, value)
    return await _removed(
        session, response, customer_id, which=which, reason=reason, actor=principal.key_id, now=now, if_match=if_match
    )


@router.delete(
    "/{customer_id}/identities/{identity_id}",
    response_model=CustomerRead,
    summary="Take an identity off the customer by its id (as the customer's `identities` list it); audited",
    responses=_REMOVAL_RESPONSES,
)
async def remove_customer_identity_by_id(
    customer_id: uuid.UUID,
    identity_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    now: Now,
    principal: Supervisor,
    reason: Reason = None,
    if_match: IfMatch = None,
) -> CustomerRead:
    return await _removed(
        session,
        response,
        customer_id,
        which=identity_id,
        reason=reason,
        actor=principal.key_id,
        now=now,
        if_match=if_match,
    )


async def _removed(
    session: AsyncSession,
    response: Response,
    customer_id: uuid.UUID,
    *,
    which: uuid.UUID | tuple[IdentityKind, str],
    reason: str | None,
    actor: str,
    now: datetime,
    if_match: str | None,
) -> CustomerRead:
    customer = await corrections.remove_identity(
        session=session,
        customer_id=customer_id,
        which=which,
        reason=reason,
        actor=actor,
        now=now,
        expected=preconditions.expected(if_match),
    )
    read = CustomerRead.model_validate(customer)
    await session.commit()
    response.headers["ETag"] = preconditions.entity_tag(read)
    return read


@router.post(
    "/{customer_id}/unmerge",
    response_model=UnmergeRead,
    summary="Undo a merge into this customer within FIRSTCALL_ROUTER_UNMERGE_WINDOW_HOURS: both profiles, "
    "their identities and their history as they were",
    responses={
        **declared(
            409,
            "`unmerge-refused`, `rule` says why: `unmerge-window-passed`, `not-merged`, `merge-not-recorded`, "
            "`survivor-merged-since`, `resolution-spans-profiles`, `no-identity-left`, "
            "`survivor-left-without-identity`, `customer-erased`",
            slug="unmerge-refused",
            detail="merges can be undone until 72 h after them; this one could be until 2026-12-01T10:00:00+00:00",
        ),
        **PRECONDITION_FAILED,
    },
)
async def unmerge_customer(
    customer_id: uuid.UUID,
    body: CustomerUnmerge,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: Supervisor,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    window = timedelta(hours=components.settings.unmerge_window_hours)

    async def write(session: AsyncSession) -> tuple[int, Any]:
        survivor, restored, merge_id, moved_back = await unmerging.unmerge_customers(
            session=session,
            survivor_id=customer_id,
            merged_id=body.merged_customer_id,
            reason=body.reason,
            actor=principal.key_id,
            now=now,
            window=window,
            secret=components.settings.secret_key.get_secret_value(),
            expected=preconditions.expected(if_match),
        )
        read = UnmergeRead(
            survivor=CustomerRead.model_validate(survivor),
            restored=CustomerRead.model_validate(restored),
            merge_id=merge_id,
            moved_back=moved_back,
        )
        return status.HTTP_200_OK, read.model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/customers/{customer_id}/unmerge"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
