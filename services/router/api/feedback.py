"""/v1/tickets/{id}/feedback: a ticket heard as feedback, acknowledged in the customer's words and resolved."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.access.tickets import actor_of
from services.router.api.deps import AgentWork, Now, Reader, Router, declared, idempotency_scope
from services.router.feedback import service as feedback_service
from services.router.feedback.schemas import FeedbackMark, FeedbackOutcome, FeedbackRead
from services.router.tickets import service as ticket_service
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once

router = APIRouter(prefix="/v1/tickets/{ticket_id}/feedback", tags=["feedback"])


@router.get(
    "",
    response_model=FeedbackRead,
    summary="How the ticket was heard as feedback, and the acknowledgement the customer got",
    responses=declared(404, "The ticket is not feedback", slug="not-found", detail="Feedback of ticket ... not found"),
)
async def get_feedback(ticket_id: uuid.UUID, session: SessionDep, _: Reader) -> FeedbackRead:
    await ticket_service.get_ticket(session=session, ticket_id=ticket_id)
    return FeedbackRead.model_validate(await feedback_service.get_feedback(session=session, ticket_id=ticket_id))


@router.post(
    "",
    response_model=FeedbackOutcome,
    status_code=status.HTTP_201_CREATED,
    summary="Mark the ticket as feedback: acknowledged quoting the customer, resolved at first contact, and "
    "passed to the feedback's owner",
    responses={
        **declared(
            409,
            "`already-feedback`: the ticket was acknowledged as feedback already; `ticket-not-open`: it is no "
            "longer open to a resolution",
            slug="already-feedback",
            detail="the ticket was acknowledged as feedback already",
        ),
    },
)
async def mark_feedback(
    ticket_id: uuid.UUID,
    body: FeedbackMark,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    principal: AgentWork,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    actor = actor_of(principal, body.agent_id)

    async def write(session: AsyncSession) -> tuple[int, Any]:
        record, ticket = await feedback_service.mark_feedback(
            session=session, ticket_id=ticket_id, kind=body.kind, actor=actor, now=now
        )
        outcome = FeedbackOutcome(feedback=FeedbackRead.model_validate(record), ticket_status=ticket.status)
        return status.HTTP_201_CREATED, outcome.model_dump(mode="json")

    response = await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/tickets/{ticket_id}/feedback"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
    if response.status_code == 201 and "idempotent-replayed" not in response.headers:
        components.metrics.resolutions.labels("answer", "executed").inc()
    return response
