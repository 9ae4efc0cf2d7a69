"""/v1/agents: who takes tickets, with which skills, capacity and authority, and whether they are free."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.agents import service as agent_service
from services.router.agents.models import Agent
from services.router.agents.schemas import AgentCreate, AgentRead, AgentUpdate
from services.router.api.deps import AgentWork, Now, StaffReader, Supervisor, declared, idempotency_scope
from services.router.preconditions import ETAG_HEADER, PRECONDITION_FAILED, IfMatch
from services.router.routing import service as routing
from shared.errors import ProblemError
from shared.events.catalogue import AgentStatus
from shared.web.app import RuntimeDep, SessionDep
from shared.web.auth import Scope
from shared.web.idempotency import IdempotencyKey, respond_once
from shared.web.pagination import Cursor, Limit, next_page_link

router = APIRouter(prefix="/v1/agents", tags=["agents"])


class AgentPage(BaseModel):
    items: list[AgentRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page (also in `Link`); null at the end")


async def _read(session: AsyncSession, agent: Agent, response: Response | None = None) -> AgentRead:
    read = await agent_service.read_agent(session=session, agent=agent)
    if response is not None:
        response.headers["ETag"] = preconditions.entity_tag(read)
    return read


@router.post(
    "",
    response_model=AgentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register an agent",
    responses=declared(
        409,
        "`agent-email-taken`: another agent has this email",
        slug="agent-email-taken",
        detail="an agent with email grace@contact.example exists",
    ),
)
async def register_agent(
    body: AgentCreate, runtime: RuntimeDep, now: Now, principal: Supervisor, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        agent = await agent_service.register_agent(session=session, request=body, now=now)
        if agent.status == "available":
            await routing.offer_queue(session=session, agent_id=agent.id, now=now)
        return status.HTTP_201_CREATED, (await _read(session, agent)).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(principal, "POST /v1/agents"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
        location=lambda body: f"/v1/agents/{body['id']}",
    )


@router.get("", response_model=AgentPage, summary="Agents by name, cursor-paginated; filter by team and status")
async def list_agents(
    request: Request,
    response: Response,
    session: SessionDep,
    _: StaffReader,
    team: str | None = Query(None, max_length=100),
    agent_status: Annotated[AgentStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AgentPage:
    agents, next_cursor = await agent_service.list_agents(
        session=session, team=team, status=agent_status, limit=limit, cursor=cursor
    )
    loads = await agent_service.loads(session=session, agent_ids=[a.id for a in agents])
    next_page_link(request, response, next_cursor)
    return AgentPage(
        items=[AgentRead.model_validate(a).model_copy(update={"load": loads[a.id]}) for a in agents],
        next_cursor=next_cursor,
    )


@router.get(
    "/{agent_id}",
    response_model=AgentRead,
    summary="An agent with their current load",
    responses={200: {"headers": ETAG_HEADER}},
)
async def get_agent(agent_id: uuid.UUID, response: Response, session: SessionDep, _: StaffReader) -> AgentRead:
    return await _read(session, await agent_service.get_agent(session=session, agent_id=agent_id), response)


@router.patch(
    "/{agent_id}",
    response_model=AgentRead,
    summary="Change an agent; becoming available or gaining capacity takes waiting tickets at once",
    responses={200: {"headers": ETAG_HEADER}, **PRECONDITION_FAILED},
)
async def update_agent(
    agent_id: uuid.UUID,
    body: AgentUpdate,
    response: Response,
    session: SessionDep,
    now: Now,
    principal: AgentWork,
    if_match: IfMatch = None,
) -> AgentRead:
    await agent_service.get_agent(session=session, agent_id=agent_id)  # a 404 before any rule about who
    own_status_only = principal.agent_id == agent_id and body.model_fields_set <= {"status"}
    if not (own_status_only or principal.allows(Scope.SUPERVISOR)):
        raise ProblemError(
            403, "forbidden", "Agents may change only their own status", "ask a supervisor", rule="own-status-only"
        )
    agent = await agent_service.update_agent(
        session=session, agent_id=agent_id, request=body, now=now, expected=preconditions.expected(if_match)
    )
    await session.flush()
    await routing.offer_queue(session=session, agent_id=agent.id, now=now)
    await session.commit()
    return await _read(session, agent, response)
