"""A ticket's life: moving it between statuses (docs/router.md#a-tickets-life), and the audit of every move."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.router import preconditions
from services.router.access.tickets import actor_of
from services.router.api.deps import AgentWork, Now, Reader, declared
from services.router.preconditions import ETAG_HEADER, PRECONDITION_FAILED, IfMatch
from services.router.tickets import lifecycle
from services.router.tickets import service as ticket_service
from services.router.tickets.schemas import StatusChange, StatusChangeRead, TicketRead
from shared.web.app import SessionDep

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


@router.post(
    "/{ticket_id}/status",
    response_model=TicketRead,
    summary="Move a ticket in its life: pending customer, on hold, open again, cancelled, closed",
    responses={
        200: {"headers": ETAG_HEADER},
        **declared(
            409,
            "`ticket-transition-refused`: the table does not allow this move; `rule` names why "
            "(`ticket-final`, `no-such-transition`, `transition-has-its-own-operation`)",
            slug="ticket-transition-refused",
            detail="open -> resolved happens through POST /v1/tickets/{id}/resolutions",
        ),
        **PRECONDITION_FAILED,
    },
)
async def change_status(
    ticket_id: uuid.UUID,
    body: StatusChange,
    response: Response,
    session: SessionDep,
    now: Now,
    principal: AgentWork,
    if_match: IfMatch = None,
) -> TicketRead:
    ticket = await lifecycle.change_status(
        session=session,
        ticket_id=ticket_id,
        request=body,
        actor=actor_of(principal, body.agent_id),
        expected=preconditions.expected(if_match),
        now=now,
    )
    await session.commit()
    read = TicketRead.model_validate(ticket)
    response.headers["ETag"] = preconditions.entity_tag(read)
    return read


@router.get(
    "/{ticket_id}/status-changes",
    response_model=list[StatusChangeRead],
    summary="Every status change of a ticket, oldest first: what moved it, who, when and why",
)
async def list_status_changes(ticket_id: uuid.UUID, session: SessionDep, _: Reader) -> list[StatusChangeRead]:
    changes = await ticket_service.status_changes(session=session, ticket_id=ticket_id)
    return [StatusChangeRead.model_validate(change) for change in changes]
