"""/v1/tickets/{id}/offered-resolution: the fix of a resolved problem, offered to its tickets, accepted in one call."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.access.tickets import actor_of
from services.router.api.deps import AgentWork, Now, Router, declared, idempotency_scope
from services.router.context import offers
from services.router.context.schemas import OfferAcceptance, OfferedResolutionRead, OfferOutcome
from services.router.tickets import service as ticket_service
from shared.errors import NotFound
from shared.web.app import RuntimeDep, SessionDep
from shared.web.idempotency import IdempotencyKey, respond_once

router = APIRouter(prefix="/v1/tickets/{ticket_id}/offered-resolution", tags=["resolutions"])


@router.get(
    "",
    response_model=OfferedResolutionRead,
    summary="The fix of the ticket's resolved problem, offered as its answer (also in the ticket's context)",
    responses=declared(
        404, "No fix was offered to this ticket", slug="not-found", detail="No offered resolution of ticket..."
    ),
)
async def get_offered_resolution(ticket_id: uuid.UUID, session: SessionDep, _: AgentWork) -> OfferedResolutionRead:
    await ticket_service.get_ticket(session=session, ticket_id=ticket_id)
    offer = await offers.current_offer(session=session, ticket_id=ticket_id)
    if offer is None:
        raise NotFound("Offered resolution of ticket", ticket_id)
    return OfferedResolutionRead.model_validate(offer)


@router.post(
    "/accept",
    response_model=OfferOutcome,
    summary="Resolve the ticket with the offered fix as its answer, in one call (FCR counts as for any answer)",
    responses={
        **declared(
            409,
            "`offer-decided`: the fix was accepted or applied already; `resolution-refused` (`rule` "
            "`ticket-not-open`): the ticket is no longer open to a resolution",
            slug="offer-decided",
            detail="the fix offered to this ticket was accepted already",
        ),
        **declared(404, "No fix was offered to this ticket", slug="not-found", detail="No offered resolution..."),
    },
)
async def accept_offered_resolution(
    ticket_id: uuid.UUID,
    runtime: RuntimeDep,
    components: Router,
    now: Now,
    body: OfferAcceptance,
    principal: AgentWork,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    actor = actor_of(principal, body.agent_id)

    async def write(session: AsyncSession) -> tuple[int, Any]:
        offer, ticket = await offers.accept_offer(
            session=session, ticket_id=ticket_id, note=body.note, actor=actor, settings=components.settings, now=now
        )
        outcome = OfferOutcome(offer=OfferedResolutionRead.model_validate(offer), ticket_status=ticket.status)
        return status.HTTP_200_OK, outcome.model_dump(mode="json")

    response = await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, f"POST /v1/tickets/{ticket_id}/offered-resolution/accept"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )
    if response.status_code == 200 and "idempotent-replayed" not in response.headers:
        components.metrics.resolutions.labels("answer", "executed").inc()
    return response
