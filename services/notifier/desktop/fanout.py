"""One signed delivery per desktop event and interested subscription, staged in the handler's transaction.

A subscription is interested when it wants the event's type and its audience takes in the event: `center`
every one, `agent` one naming its agent, `team` one naming an agent of its team. The dedupe key is the
subscription and the notice (the event's content), so a redelivered event never stages a second delivery
even past the inbox; the worker then sends it with retries, the circuit breaker and the dead letters.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.delivery import service as delivery_service
from services.notifier.desktop import projection
from services.notifier.desktop.notices import Notice
from services.notifier.subscriptions.models import Subscription


async def stage_deliveries(*, session: AsyncSession, notice: Notice) -> int:
    """Stage the deliveries of a notice; returns how many were new."""
    teams = await projection.teams_of(session=session, agent_ids=notice.concerns.keys())
    deliveries = []
    for subscription in await _candidates(session, notice, teams):
        concerns = _concerns_for(subscription, notice, teams)
        if notice.event not in subscription.event_types or concerns is None:
            continue
        deliveries.append(
            delivery_service.NewDelivery(
                dedupe_key=f"desktop:{subscription.id}:notice:{notice.id}",
                channel="webhook",
                endpoint=subscription.url,
                event_type=notice.event,
                payload=notice.body(subscription_id=subscription.id, audience=subscription.audience, concerns=concerns),
                subscription_id=subscription.id,
                customer_id=notice.customer_id,
                problem_id=notice.problem_id,
                ticket_id=notice.ticket_id,
            )
        )
    return len(await delivery_service.enqueue_many(session=session, deliveries=deliveries)) if deliveries else 0


async def _candidates(session: AsyncSession, notice: Notice, teams: Mapping[uuid.UUID, str]) -> list[Subscription]:
    audiences = [Subscription.audience == "center"]
    if notice.concerns:
        audiences.append((Subscription.audience == "agent") & Subscription.agent_id.in_(sorted(notice.concerns)))
    if teams:
        audiences.append((Subscription.audience == "team") & Subscription.team.in_(sorted(set(teams.values()))))
    statement = (
        select(Subscription)
        .where(Subscription.active.is_(True), or_(*audiences))
        .order_by(Subscription.created_at, Subscription.id)
    )
    return list(await session.scalars(statement))


def _concerns_for(
    subscription: Subscription, notice: Notice, teams: Mapping[uuid.UUID, str]
) -> list[dict[str, str | None]] | None:
    """The agents of the notice this subscription hears of, with their parts; None if none."""
    if subscription.audience == "agent":
        agents = [agent for agent in notice.concerns if agent == subscription.agent_id]
    elif subscription.audience == "team":
        agents = [agent for agent in notice.concerns if teams.get(agent) == subscription.team]
    else:
        agents = list(notice.concerns)
    if not agents and subscription.audience != "center":
        return None
    return [{"agent_id": str(a), "concern": notice.concerns[a], "team": teams.get(a)} for a in agents]
