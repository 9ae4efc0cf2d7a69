"""/v1/agent-links: which RT user each firstcall agent works as (the bridge's mapping, set by an admin)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Response, status
from sqlalchemy.exc import IntegrityError

from services.helpdesk.api.access import Admin, Reader, SidesDep
from services.helpdesk.desk.port import HelpdeskUnavailable
from services.helpdesk.links import service as links
from services.helpdesk.links.schemas import AgentLinkPage, AgentLinkRead, AgentLinkWrite
from shared.errors import Conflict, ProblemError, invalid
from shared.web.app import SessionDep
from shared.web.pagination import Cursor, Limit, decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/agent-links", tags=["agent links"])


@router.put(
    "/{agent_id}",
    response_model=AgentLinkRead,
    summary="Link a firstcall agent to their RT user (the user must exist in RT)",
    responses={409: {"description": "That RT user is linked to another agent"}},
)
async def link_agent(
    agent_id: uuid.UUID, body: AgentLinkWrite, session: SessionDep, sides: SidesDep, _: Admin
) -> AgentLinkRead:
    if sides is not None:
        try:
            exists = await sides.helpdesk.user_exists(body.rt_user)
        except HelpdeskUnavailable as exc:
            raise ProblemError(503, "helpdesk-unavailable", "RT did not answer", str(exc)) from exc
        if not exists:
            raise invalid("body.rt_user", f"RT has no user named {body.rt_user!r}", type="not_found")
    other = await links.agent_of_rt_user(session=session, rt_user=body.rt_user)
    if other is not None and other != agent_id:
        raise Conflict("rt-user-linked", f"RT user {body.rt_user} is linked to agent {other}")
    link = await links.link_agent(session=session, agent_id=agent_id, rt_user=body.rt_user, now=datetime.now(UTC))
    try:
        await session.commit()
    except IntegrityError as exc:
        raise Conflict("rt-user-linked", f"RT user {body.rt_user} was just linked to another agent") from exc
    return AgentLinkRead.model_validate(link)


@router.get("", response_model=AgentLinkPage, summary="Agent links by RT user name, a page at a time")
async def list_agent_links(session: SessionDep, _: Reader, cursor: Cursor = None, limit: Limit = 50) -> AgentLinkPage:
    after = str(decode_cursor(cursor, 1)[0]) if cursor else None
    rows = await links.agent_links(session=session, after=after, limit=limit + 1)
    page = [AgentLinkRead.model_validate(row) for row in rows[:limit]]
    return AgentLinkPage(items=page, next_cursor=encode_cursor(page[-1].rt_user) if len(rows) > limit else None)


@router.get("/{agent_id}", response_model=AgentLinkRead, summary="The RT user an agent works as")
async def get_agent_link(agent_id: uuid.UUID, session: SessionDep, _: Reader) -> AgentLinkRead:
    return AgentLinkRead.model_validate(await links.agent_link(session=session, agent_id=agent_id))


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Unlink an agent")
async def unlink_agent(agent_id: uuid.UUID, session: SessionDep, _: Admin) -> Response:
    await links.unlink_agent(session=session, agent_id=agent_id)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
