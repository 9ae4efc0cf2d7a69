"""/v1/agents/{id}/events and /v1/agents/me/events: what concerns an agent, pushed as server-sent events.

Every check happens before the stream opens, so a refusal is an ordinary problem answer, never a 200
that stops: the key (agents their own stream, supervisors any agent's), the agent, the cursor, the limits.
docs/desktop-push.md is the user's guide.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from services.router.agents import service as agent_service
from services.router.api.deps import AgentWork
from services.router.desktop.push import EXTENSION, DesktopPush
from services.router.desktop.streams import AgentStream, Frame
from shared.errors import ProblemError, invalid
from shared.runtime import ServiceRuntime
from shared.web.app import RuntimeDep
from shared.web.auth import Principal, Scope

router = APIRouter(prefix="/v1/agents", tags=["desktop"])

MAX_POSITION = 2**63 - 1
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=19,
        pattern="^[0-9]{1,19}$",
        description="The `id` of the last message received: the stream goes on right after it",
    ),
]
AfterQuery = Annotated[
    int | None,
    Query(
        alias="last_event_id",
        ge=0,
        le=MAX_POSITION,
        description="The same as `Last-Event-ID`, for clients that cannot set headers (the header wins)",
    ),
]
_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An endless text/event-stream: `ready` (or `reset`), then one message per event that "
        "concerns the agent, each with its `id`, and `: keep-alive` comments (docs/desktop-push.md)"
    },
    403: {"description": "The key lacks the scope, or is an agent's and names another agent (rule `own-agent-only`)"},
    429: {
        "description": "The key has spent its per-minute limit, or holds as many streams as it may "
        "(`too-many-streams`); retry after `Retry-After` seconds"
    },
    503: {
        "description": "The process is at capacity (requests or streams, `streams-at-capacity`); "
        "retry after `Retry-After` seconds, another replica may take it"
    },
}


def _cursor(header: str | None, query: int | None) -> int | None:
    if header is None:
        return query
    if int(header) > MAX_POSITION:
        raise invalid("header.Last-Event-ID", f"must be at most {MAX_POSITION}")
    return int(header)


def _presented_key(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials if scheme.lower() == "bearer" and credentials else request.headers.get("x-api-key")


@asynccontextmanager
async def _opened(
    request: Request, runtime: ServiceRuntime, principal: Principal, agent_id: uuid.UUID, cursor: int | None
) -> AsyncIterator[AgentStream]:
    """The agent's stream, holding one of the key's stream slots until it ends."""
    push: DesktopPush = runtime.extensions[EXTENSION]
    presented = _presented_key(request)

    async def still_allowed() -> bool:
        """A key revoked while its stream is open loses the stream at the next heartbeat."""
        try:
            await runtime.authenticator.authenticate(presented)
        except ProblemError:
            return False
        return True

    with push.limits.lease(principal.key_id):
        yield push.stream(agent_id=str(agent_id), after=cursor, still_allowed=still_allowed)


async def _agent_exists(runtime: ServiceRuntime, agent_id: uuid.UUID) -> None:
    # Its own session, closed at once: a stream must not hold a connection (SQLite has one) for hours.
    async with runtime.database.session() as session:
        await agent_service.get_agent(session=session, agent_id=agent_id)


async def named_agent_stream(
    request: Request,
    runtime: RuntimeDep,
    principal: AgentWork,
    agent_id: uuid.UUID,
    last_event_id: LastEventId = None,
    after: AfterQuery = None,
) -> AsyncIterator[AgentStream]:
    cursor = _cursor(last_event_id, after)
    await _agent_exists(runtime, agent_id)
    if principal.agent_id != agent_id and not principal.allows(Scope.SUPERVISOR):
        raise ProblemError(
            403,
            "forbidden",
            "An agent's key streams only that agent's events",
            "Use /v1/agents/me/events, or a supervisor's key.",
            rule="own-agent-only",
        )
    async with _opened(request, runtime, principal, agent_id, cursor) as stream:
        yield stream


async def own_stream(
    request: Request,
    runtime: RuntimeDep,
    principal: AgentWork,
    last_event_id: LastEventId = None,
    after: AfterQuery = None,
) -> AsyncIterator[AgentStream]:
    cursor = _cursor(last_event_id, after)
    if principal.agent_id is None:
        # Not a 403: the key may well stream agents' events (a supervisor's), only `me` names nobody here.
        raise ProblemError(
            404,
            "not-found",
            "This key acts for no agent",
            "`me` is the agent of an agent's own key; name the agent: /v1/agents/{agent_id}/events.",
        )
    await _agent_exists(runtime, principal.agent_id)
    async with _opened(request, runtime, principal, principal.agent_id, cursor) as stream:
        yield stream


def _message(frame: Frame) -> ServerSentEvent:
    return ServerSentEvent(
        raw_data=frame.data.decode() if frame.data is not None else None,
        event=frame.event,
        id=frame.id,
        retry=frame.retry,
        comment=frame.comment,
    )


@router.get(
    "/me/events",
    response_class=EventSourceResponse,
    summary="My desktop's events (an agent's key): assignments, transfers, approvals, SLAs, handoffs, problems",
    responses={**_STREAM_RESPONSES, 404: {"description": "The key acts for no agent (it was issued without one)"}},
)
async def stream_my_events(stream: Annotated[AgentStream, Depends(own_stream)]) -> AsyncIterator[ServerSentEvent]:
    async for frame in stream.frames():
        yield _message(frame)


@router.get(
    "/{agent_id}/events",
    response_class=EventSourceResponse,
    summary="An agent's desktop events as server-sent events; resumes after `Last-Event-ID`",
    responses=_STREAM_RESPONSES,
)
async def stream_agent_events(
    stream: Annotated[AgentStream, Depends(named_agent_stream)],
) -> AsyncIterator[ServerSentEvent]:
    async for frame in stream.frames():
        yield _message(frame)
