"""Resolving at first contact: resolutions within policy, supervisor approvals, transfers and reopens."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.access.tickets import actor_of
from services.router.api.deps import AgentWork, Intake, Now, Router, Supervisor, declared, idempotency_scope
from services.router.ledger import service as ledger_service
from services.router.ledger.schemas import (
    ApprovalDecision,
    ApprovalRead,
    ApprovalWithdrawal,
    LedgerEntryRead,
    ResolutionCreate,
    ResolutionOutcome,
)
from services.router.tickets import lifecycle
from services.router.tickets.schemas import ReopenRequest, TicketRead, TransferCreate, TransferRead
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once
from shared.web.pagination import Cursor, Limit, next_page_link

router = APIRouter(tags=["resolutions"])


@router.post(
    "/v1/tickets/{ticket_id}/resolutions",
    response_model=ResolutionOutcome,
    status_code=status.HTTP_201_CREATED,
    summary="Resolve a ticket: executed at once within policy (201), sent to a supervisor (202), or refused",
    responses={
        202: {"model": ResolutionOutcome, "description": "Above the agent's authority: a supervisor decides"},
        409: {"description": "The ticket is not open (rule named in `rule`)"},
        422: {"description": "Refused by a policy rule (named in `rule`) or invalid input"},
    },
)
async def resolve(
    ticket_id: uuid.UUID,
    body: ResolutionCreate,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: AgentWork,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    actor = actor_of(principal, body.agent_id)

    async def write(session: AsyncSession) -> tuple[int, Any]:
        verdict, entry, approval, ticket = await ledger_service.resolve(
            session=session, ticket_id=ticket_id, request=body, actor=actor, settings=components.settings, now=now
        )
        outcome = ResolutionOutcome(
            outcome="executed" if approval is None else "approval_requested",
            rule=verdict.rule,
            explanation=verdict.explanation,
            ticket_status=ticket.status,
            ledger_entry=LedgerEntryRead.model_validate(entry) if entry else None,
            approval=ApprovalRead.model_validate(approval) if approval else None,
        )
        code = status.HTTP_201_CREATED if approval is None else status.HTTP_202_ACCEPTED
        return code, outcome.model_dump(mode="json")

    response = await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/tickets/{ticket_id}/resolutions"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
    if "idempotent-replayed" not in response.headers:
        outcome = "executed" if response.status_code == 201 else "approval_requested"
        components.metrics.resolutions.labels(body.type, outcome).inc()
    return response


class ApprovalPage(BaseModel):
    items: list[ApprovalRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page (also in `Link`); null at the end")


@router.get("/v1/approvals", response_model=ApprovalPage, summary="Approvals, oldest first, cursor-paginated")
async def list_approvals(
    request: Request,
    response: Response,
    session: SessionDep,
    _: Supervisor,
    approval_status: Literal["pending", "approved", "denied", "withdrawn", "refused"] | None = Query(
        None, alias="status"
    ),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ApprovalPage:
    items, next_cursor = await ledger_service.approvals(
        session=session, status=approval_status, limit=limit, cursor=cursor
    )
    next_page_link(request, response, next_cursor)
    return ApprovalPage(items=[ApprovalRead.model_validate(a) for a in items], next_cursor=next_cursor)


@router.get("/v1/approvals/{approval_id}", response_model=ApprovalRead, summary="One approval")
async def get_approval(approval_id: uuid.UUID, session: SessionDep, _: AgentWork) -> ApprovalRead:
    return ApprovalRead.model_validate(await ledger_service.get_approval(session=session, approval_id=approval_id))


@router.post(
    "/v1/approvals/{approval_id}/decision",
    response_model=ResolutionOutcome,
    summary="A supervisor approves (the resolution executes) or denies (`denied`: the agent keeps the ticket)",
    responses={
        **declared(
            409,
            "`approval-decided`: the approval is no longer pending; or `resolution-refused`: a hard rule no "
            "longer holds (named in `rule`)",
            slug="approval-decided",
            detail="the approval was already denied",
        )
    },
)
async def decide_approval(
    approval_id: uuid.UUID,
    body: ApprovalDecision,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: Supervisor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    actor = actor_of(principal, body.supervisor_id, field="body.supervisor_id")

    async def write(session: AsyncSession) -> tuple[int, Any]:
        approval, entry, ticket = await ledger_service.decide(
            session=session,
            approval_id=approval_id,
            approved=body.approved,
            note=body.note,
            actor=actor,
            settings=components.settings,
            now=now,
        )
        outcome = ResolutionOutcome(
            outcome="executed" if body.approved else "denied",
            rule="supervisor-approved" if body.approved else "supervisor-denied",
            explanation=body.note or ("approved" if body.approved else "denied; the agent keeps the ticket"),
            ticket_status=ticket.status,
            ledger_entry=LedgerEntryRead.model_validate(entry) if entry else None,
            approval=ApprovalRead.model_validate(approval),
        )
        return status.HTTP_200_OK, outcome.model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/approvals/{approval_id}/decision"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )


@router.post(
    "/v1/approvals/{approval_id}/withdrawal",
    response_model=ResolutionOutcome,
    summary="The agent who asked withdraws a pending approval; the ticket is open again for them",
    responses={
        **declared(
            409,
            "`approval-decided`: the approval is no longer pending",
            slug="approval-decided",
            detail="the approval was already approved",
        )
    },
)
async def withdraw_approval(
    approval_id: uuid.UUID,
    body: ApprovalWithdrawal,
    runtime: RuntimeDep,
    now: Now,
    principal: AgentWork,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    actor = actor_of(principal, body.agent_id)

    async def write(session: AsyncSession) -> tuple[int, Any]:
        approval, ticket = await ledger_service.withdraw(
            session=session, approval_id=approval_id, reason=body.reason, actor=actor, now=now
        )
        outcome = ResolutionOutcome(
            outcome="withdrawn",
            rule="withdrawn-by-agent",
            explanation=body.reason or "withdrawn; the agent resolves the ticket another way",
            ticket_status=ticket.status,
            approval=ApprovalRead.model_validate(approval),
        )
        return status.HTTP_200_OK, outcome.model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/approvals/{approval_id}/withdrawal"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )


@router.post(
    "/v1/tickets/{ticket_id}/transfers",
    response_model=TransferRead,
    status_code=status.HTTP_201_CREATED,
    summary="Transfer a ticket with a reason (counted against first-contact resolution); it is routed again",
    responses={
        **declared(
            409,
            "`ticket-not-open`: only an open ticket is transferred; or `agent-at-capacity`: the named agent "
            "cannot take another ticket on this channel now",
            slug="ticket-not-open",
            detail="the ticket is pending customer",
        )
    },
)
async def transfer(
    ticket_id: uuid.UUID,
    body: TransferCreate,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: AgentWork,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    actor = actor_of(principal, body.agent_id)

    async def write(session: AsyncSession) -> tuple[int, Any]:
        record, _ = await lifecycle.transfer_ticket(
            session=session, ticket_id=ticket_id, request=body, actor=actor, now=now
        )
        return status.HTTP_201_CREATED, TransferRead.model_validate(record).model_dump(mode="json")

    response = await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/tickets/{ticket_id}/transfers"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
    if response.status_code == 201 and "idempotent-replayed" not in response.headers:
        components.metrics.transfers.labels(body.reason).inc()
    return response


@router.post(
    "/v1/tickets/{ticket_id}/reopen",
    response_model=TicketRead,
    summary="Reopen a resolved ticket (within the window it no longer counts as resolved at first contact)",
    responses=declared(
        409,
        "`ticket-not-resolved`: only a resolved ticket can be reopened",
        slug="ticket-not-resolved",
        detail="only a resolved ticket can be reopened; this one is open",
    ),
)
async def reopen(
    ticket_id: uuid.UUID,
    body: ReopenRequest,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: Intake,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    actor = actor_of(principal, body.agent_id)

    async def write(session: AsyncSession) -> tuple[int, Any]:
        ticket = await lifecycle.reopen_ticket(
            session=session, ticket_id=ticket_id, reason=body.reason, settings=components.settings, actor=actor, now=now
        )
        return status.HTTP_200_OK, TicketRead.model_validate(ticket).model_dump(mode="json")

    response = await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/tickets/{ticket_id}/reopen"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
    if response.status_code == 200 and "idempotent-replayed" not in response.headers:
        components.metrics.tickets_reopened.labels("all").inc()
    return response
