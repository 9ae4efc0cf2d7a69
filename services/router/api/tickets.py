"""/v1/tickets: opening a ticket, reading it, correcting it, and the agent's context and notes."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from pydantic import MISSING
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.access.tickets import actor_of
from services.router.api.deps import AgentWork, Intake, Now, Reader, Router, StaffReader, declared, idempotency_scope
from services.router.context import service as context_service
from services.router.context.schemas import TicketContext
from services.router.preconditions import ETAG_HEADER, PRECONDITION_FAILED, IfMatch
from services.router.routing import service as routing
from services.router.tickets import service as ticket_service
from services.router.tickets.schemas import (
    Assignment,
    NoteCreate,
    NoteRead,
    OpenedTicket,
    RoutingDecisionRead,
    RoutingExplanation,
    TicketCreate,
    TicketRead,
    TicketUpdate,
)
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


def _location(body: Any) -> str | None:
    return f"/v1/tickets/{body['id']}" if isinstance(body, dict) and "id" in body else None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OpenedTicket,
    summary="Open a ticket: the customer is recognised, the text classified, and the ticket routed",
    responses={201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
async def open_ticket(
    body: TicketCreate,
    principal: Intake,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    await components.classifier.refresh()
    intent = "unknown"

    async def write(session: AsyncSession) -> tuple[int, Any]:
        nonlocal intent
        opened = await ticket_service.open_ticket(
            session=session,
            request=body,
            classifier=components.classifier,
            profiles=components.profiles,
            settings=components.settings,
            actor=principal.key_id,
            now=now,
        )
        ticket = opened.ticket
        intent = ticket.intent or "unknown"
        assignment = None
        if ticket.agent_id is not None and ticket.assigned_at is not None:
            assignment = Assignment(
                agent_id=ticket.agent_id,
                rule=opened.decision.rule,
                reason=opened.decision.explanation,
                assigned_at=ticket.assigned_at,
            ).model_dump(mode="json")
        # OpenedTicket's JSON without building it: the ticket validated once, OpenedTicket's own fields added
        # in its order (decision 0043; tests/unit/router/test_ticket_open_answer.py holds the two equal).
        read = TicketRead.model_validate(ticket).model_dump(mode="json")
        read["assignment"] = assignment
        read["queue_position"] = opened.queue_position
        read["customer_created"] = opened.customer_created
        read["possible_duplicate_customers"] = [str(other) for other in opened.possible_duplicates]
        return status.HTTP_201_CREATED, read

    response = await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, "POST /v1/tickets"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
        location=_location,
        # The hot path: a retry is rare, so it is found by its key's conflict at commit, not by a lookup first.
        look_up_first=False,
        # Its reads need no transaction (READ COMMITTED): a queued ticket's one INSERT is sent alone.
        begin_on_write=True,
    )
    if response.status_code == 201 and "idempotent-replayed" not in response.headers:
        components.metrics.tickets_opened.labels(body.channel, intent).inc()
    return response


@router.get(
    "/{ticket_id}", response_model=TicketRead, summary="Read a ticket", responses={200: {"headers": ETAG_HEADER}}
)
async def get_ticket(ticket_id: uuid.UUID, response: Response, session: SessionDep, _: Reader) -> TicketRead:
    read = TicketRead.model_validate(await ticket_service.get_ticket(session=session, ticket_id=ticket_id))
    response.headers["ETag"] = preconditions.entity_tag(read)
    return read


@router.patch(
    "/{ticket_id}",
    response_model=TicketRead,
    summary="Correct a ticket (subject, description, priority, intent); knowledge suggests again",
    responses={
        200: {"headers": ETAG_HEADER},
        **declared(
            409,
            "`ticket-not-open`: the ticket is resolved, closed or cancelled",
            slug="ticket-not-open",
            detail="the ticket is resolved",
        ),
        **PRECONDITION_FAILED,
    },
)
async def update_ticket(
    ticket_id: uuid.UUID,
    body: TicketUpdate,
    response: Response,
    session: SessionDep,
    components: Router,
    now: Now,
    principal: AgentWork,
    if_match: IfMatch = None,
) -> TicketRead:
    ticket = await ticket_service.update_ticket(
        session=session,
        ticket_id=ticket_id,
        request=body,
        actor=actor_of(principal, None if body.agent_id is MISSING else body.agent_id),
        settings=components.settings,
        now=now,
        expected=preconditions.expected(if_match),
    )
    await session.commit()
    read = TicketRead.model_validate(ticket)
    response.headers["ETag"] = preconditions.entity_tag(read)
    return read


@router.get(
    "/{ticket_id}/context",
    response_model=TicketContext,
    summary="Everything the first agent needs: customer, orders, knowledge, problem, allowed actions",
)
async def get_context(
    ticket_id: uuid.UUID, runtime: RuntimeDep, components: Router, now: Now, principal: AgentWork
) -> TicketContext:
    # Only reads: no BEGIN and ROLLBACK around them (shared/lazy_begin.py, docs/decisions/0042).
    async with runtime.database.session(begin_on_write=True) as session:
        return await context_service.ticket_context(
            session=session,
            ticket_id=ticket_id,
            agent_id=principal.agent_id,
            settings=components.settings,
            knowledge=components.knowledge,
            now=now,
        )


@router.get(
    "/{ticket_id}/routing",
    response_model=RoutingExplanation,
    summary="Why the ticket went where it went: candidates considered, why chosen, why others not",
)
async def get_routing(ticket_id: uuid.UUID, session: SessionDep, _: StaffReader) -> RoutingExplanation:
    ticket = await ticket_service.get_ticket(session=session, ticket_id=ticket_id)
    decisions = await routing.decisions(session=session, ticket_id=ticket_id)
    return RoutingExplanation(
        ticket_id=ticket.id,
        intent=ticket.intent,
        required_skills=dict(ticket.required_skills),
        likely_resolution=ticket.likely_resolution,
        decisions=[RoutingDecisionRead.model_validate(d) for d in decisions],
    )


@router.post(
    "/{ticket_id}/notes",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteRead,
    summary="Add a note; the assigned agent's first public note is the first response (SLA)",
)
async def add_note(
    ticket_id: uuid.UUID,
    body: NoteCreate,
    runtime: RuntimeDep,
    now: Now,
    principal: AgentWork,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    actor = actor_of(principal, body.agent_id)

    async def write(session: AsyncSession) -> tuple[int, Any]:
        note = await ticket_service.add_note(session=session, ticket_id=ticket_id, request=body, actor=actor, now=now)
        return status.HTTP_201_CREATED, NoteRead.model_validate(note).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/tickets/{ticket_id}/notes"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
