"""The little the notifier keeps of the router's events to address desktop webhooks: agents' teams, and who
asked for each approval still waiting."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.desktop.models import DesktopAgent, PendingApproval
from shared.events.catalogue import AgentRegistered, ApprovalRequested


async def remember_agent(*, session: AsyncSession, event: AgentRegistered) -> None:
    """Note an agent's team, so the team's subscriptions hear what concerns the agent."""
    await session.merge(DesktopAgent(agent_id=event.agent_id, team=event.team, updated_at=datetime.now(UTC)))


async def teams_of(*, session: AsyncSession, agent_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The team of each of these agents that has one the notifier knows of."""
    if not agent_ids:
        return {}
    rows = await session.execute(
        select(DesktopAgent.agent_id, DesktopAgent.team).where(
            DesktopAgent.agent_id.in_(sorted(agent_ids)), DesktopAgent.team.is_not(None)
        )
    )
    return {agent_id: team for agent_id, team in rows if team}


async def remember_approval(*, session: AsyncSession, event: ApprovalRequested) -> None:
    """Note who asked: the decision names only the supervisor, and the asker is the one to tell."""
    await session.merge(
        PendingApproval(
            approval_id=event.approval_id,
            agent_id=event.agent_id,
            ticket_id=event.ticket_id,
            requested_at=event.requested_at,
        )
    )


async def take_requester(*, session: AsyncSession, approval_id: uuid.UUID) -> uuid.UUID | None:
    """Who asked for a decided approval (None if the request came before the notifier listened); the row
    goes, as nothing more is decided about it."""
    pending = await session.get(PendingApproval, approval_id)
    if pending is None:
        return None
    await session.delete(pending)
    return pending.agent_id
