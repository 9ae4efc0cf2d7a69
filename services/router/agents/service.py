"""Registering agents and keeping their status, skills, capacity and authority current."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.router import preconditions
from services.router.agents.models import Agent
from services.router.agents.schemas import AgentCreate, AgentRead, AgentUpdate
from services.router.tickets.models import ACTIVE_STATUSES, Ticket
from shared.errors import Conflict, NotFound
from shared.events.catalogue import AgentRegistered, AgentUpdated
from shared.messaging.outbox import add_events
from shared.web.pagination import Keyset, fetch_page

# By name; the id makes the key unique, so a page boundary between two Graces is exact.
BY_NAME = Keyset("agents", ((Agent.display_name, False), (Agent.id, False)))


def _authority_json(authority: Mapping[Any, Mapping[str, Decimal]]) -> dict[str, Any]:
    return {kind: {cur: str(amount) for cur, amount in limits.items()} for kind, limits in authority.items()}


def authority_limits(agent: Agent) -> dict[str, dict[str, Decimal]]:
    """The agent's limits as exact amounts (JSON keeps them as strings)."""
    return {kind: {cur: Decimal(amount) for cur, amount in limits.items()} for kind, limits in agent.authority.items()}


async def register_agent(*, session: AsyncSession, request: AgentCreate, now: datetime) -> Agent:
    """Add an agent who can take tickets (caller commits)."""
    agent = Agent(
        id=uuid.uuid4(),
        display_name=request.display_name,
        email=request.email.lower() if request.email else None,
        team=request.team,
        role=request.role,
        status=request.status,
        skills=dict(request.skills),
        capacity=dict(request.capacity),
        authority=_authority_json(request.authority),
        status_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(agent)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("agent-email-taken", f"an agent with email {request.email} exists") from exc
    await add_events(
        session,
        AgentRegistered(
            agent_id=agent.id,
            display_name=agent.display_name,
            team=agent.team,
            skills=agent.skills,
            status=request.status,
            registered_at=now,
        ),
    )
    return agent


async def update_agent(
    *,
    session: AsyncSession,
    agent_id: uuid.UUID,
    request: AgentUpdate,
    now: datetime,
    expected: preconditions.Expected | None = None,
) -> Agent:
    """Apply the given changes; the caller offers queued tickets if the agent gained room."""
    agent = await get_agent(session=session, agent_id=agent_id, lock=True)
    if expected is not None:
        preconditions.check(expected, await read_agent(session=session, agent=agent))
    changes = request.model_dump(exclude_unset=True)
    if "authority" in changes:
        changes["authority"] = _authority_json(changes["authority"])
    changed = [name for name, value in changes.items() if getattr(agent, name) != value]
    for name in changed:
        setattr(agent, name, changes[name])
    if "status" in changed:
        agent.status_changed_at = now
    if changed:
        agent.updated_at = now
        await add_events(
            session,
            AgentUpdated(agent_id=agent.id, status=agent.status, changed=changed, updated_at=now),
        )
    return agent


async def read_agent(*, session: AsyncSession, agent: Agent) -> AgentRead:
    """The agent as every answer shows them: with their load right now."""
    load = (await loads(session=session, agent_ids=[agent.id]))[agent.id]
    return AgentRead.model_validate(agent).model_copy(update={"load": load})


async def get_agent(*, session: AsyncSession, agent_id: uuid.UUID, lock: bool = False) -> Agent:
    """An agent, or a 404 problem; `lock` holds the row until commit (capacity checks)."""
    query = select(Agent).where(Agent.id == agent_id)
    agent = await session.scalar(query.with_for_update() if lock else query)
    if agent is None:
        raise NotFound("Agent", agent_id)
    return agent


async def list_agents(
    *, session: AsyncSession, team: str | None, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Agent], str | None]:
    """A page of agents by name, filtered by team and status, and the cursor of the next."""
    query = select(Agent)
    if team is not None:
        query = query.where(Agent.team == team)
    if status is not None:
        query = query.where(Agent.status == status)
    return await fetch_page(session, query, BY_NAME, limit=limit, cursor=cursor)


async def loads(*, session: AsyncSession, agent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Open tickets per agent and channel: what counts against capacity."""
    if not agent_ids:
        return {}
    rows = await session.execute(
        select(Ticket.agent_id, Ticket.channel, func.count())
        .where(Ticket.agent_id.in_(agent_ids), Ticket.status.in_(ACTIVE_STATUSES))
        .group_by(Ticket.agent_id, Ticket.channel)
    )
    result: dict[uuid.UUID, dict[str, int]] = {agent_id: {} for agent_id in agent_ids}
    for agent_id, channel, count in rows:
        if agent_id is not None:
            result[agent_id][channel] = count
    return result
