"""GET /v1/tickets and a ticket's notes: lists, filtered and cursor-paginated (an agent's queue in one call)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.router.api.deps import Reader
from services.router.inputs import Instant
from services.router.tickets import listing
from services.router.tickets import service as ticket_service
from services.router.tickets.listing import TicketFilters, TicketSort
from services.router.tickets.schemas import NotePage, NoteRead, TicketPage, TicketRead
from shared.errors import invalid
from shared.events.catalogue import Channel, Priority, TicketStatus
from shared.web.app import SessionDep
from shared.web.auth import Principal, Scope
from shared.web.pagination import LINK_HEADER, Cursor, Limit, next_page_link

router = APIRouter(tags=["tickets"])

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
AgentFilter = Annotated[
    str | None,
    Query(
        alias="agent",
        pattern=rf"^(me|none|{_UUID})$",
        max_length=36,
        description="an agent's id; `me` for the key's own agent (the agent's queue); `none` for the waiting tickets",
    ),
]
Many = Query(max_length=7)


@router.get(
    "/v1/tickets",
    response_model=TicketPage,
    summary="Tickets, filtered and sorted, cursor-paginated; `agent=me&status=open` is an agent's queue",
    responses={200: {"headers": LINK_HEADER}},
)
async def list_tickets(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Reader,
    agent: AgentFilter = None,
    team: Annotated[str | None, Query(max_length=100, description="the team of the ticket's agent")] = None,
    status: Annotated[list[TicketStatus] | None, Many] = None,
    priority: Annotated[list[Priority] | None, Query(max_length=4)] = None,
    channel: Annotated[list[Channel] | None, Query(max_length=6)] = None,
    customer_id: uuid.UUID | None = None,
    intent: Annotated[str | None, Query(max_length=100)] = None,
    problem_id: uuid.UUID | None = None,
    opened_from: Annotated[Instant | None, Query(description="opened at or after (ISO 8601 with zone)")] = None,
    opened_to: Annotated[Instant | None, Query(description="opened before")] = None,
    updated_from: Annotated[Instant | None, Query(description="changed at or after")] = None,
    updated_to: Annotated[Instant | None, Query(description="changed before")] = None,
    sla_breached: Annotated[bool | None, Query(description="missed (true) or not (false) its first response")] = None,
    sort: Annotated[TicketSort, Query(description="`-` for descending; `priority`: most urgent, then oldest")] = (
        "-opened_at"
    ),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> TicketPage:
    filters = TicketFilters(
        agent_id=_agent(agent, principal),
        unassigned=agent == "none",
        team=team,
        statuses=status or (),
        priorities=priority or (),
        channels=channel or (),
        customer_id=customer_id,
        intent=intent,
        problem_id=problem_id,
        opened=(opened_from, opened_to),
        updated=(updated_from, updated_to),
        sla_breached=sla_breached,
    )
    tickets, next_cursor = await listing.page(session=session, filters=filters, sort=sort, limit=limit, cursor=cursor)
    next_page_link(request, response, next_cursor)
    return TicketPage(items=[TicketRead.model_validate(t) for t in tickets], next_cursor=next_cursor)


def _agent(agent: str | None, principal: Principal) -> uuid.UUID | None:
    if agent is None or agent == "none":
        return None
    if agent != "me":
        return uuid.UUID(agent)
    if principal.agent_id is None:
        raise invalid("query.agent", "`me` needs an agent's own key; this key acts for no agent: give the agent's id")
    return principal.agent_id


@router.get(
    "/v1/tickets/{ticket_id}/notes",
    response_model=NotePage,
    summary="A ticket's notes in the order written, cursor-paginated (contact-center keys see public notes only)",
    responses={200: {"headers": LINK_HEADER}},
)
async def list_notes(
    ticket_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Reader,
    public: Annotated[bool | None, Query(description="only public (true) or internal (false) notes")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> NotePage:
    await ticket_service.get_ticket(session=session, ticket_id=ticket_id)
    # Internal notes are the team's: software that talks to the customer reads only what the customer was told.
    staff = principal.allows(Scope.AGENT, Scope.SUPERVISOR, Scope.OPS)
    if not staff and public is False:
        raise invalid("query.public", "this key reads public notes only")
    notes, next_cursor = await listing.notes_page(
        session=session, ticket_id=ticket_id, public=public if staff else True, limit=limit, cursor=cursor
    )
    next_page_link(request, response, next_cursor)
    return NotePage(items=[NoteRead.model_validate(n) for n in notes], next_cursor=next_cursor)
