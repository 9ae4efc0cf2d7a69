"""Router events an agent's desktop hears of, in: each becomes the deliveries of the webhooks subscribed to it.

Agents' teams and the askers of approvals are remembered on the way, since the events that follow do not
carry them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.desktop import fanout, projection
from services.notifier.desktop.notices import notice_of
from shared.events.catalogue import AgentRegistered, ApprovalDecided, ApprovalRequested, Event


async def on_desktop_event(event: Event, session: AsyncSession) -> None:
    await fanout.stage_deliveries(session=session, notice=notice_of(event))


async def on_approval_decided(event: ApprovalDecided, session: AsyncSession) -> None:
    requester = await projection.take_requester(session=session, approval_id=event.approval_id)
    await fanout.stage_deliveries(session=session, notice=notice_of(event, requester=requester))


async def on_approval_requested(event: ApprovalRequested, session: AsyncSession) -> None:
    await projection.remember_approval(session=session, event=event)


async def on_agent_registered(event: AgentRegistered, session: AsyncSession) -> None:
    await projection.remember_agent(session=session, event=event)
