"""Putting routing decisions into effect: assignments that never exceed capacity, and the queue.

Capacity holds under concurrency and across replicas because an assignment locks the agent's row, then
recounts that agent's open tickets before adding one; a second router deciding for the same agent waits
for the lock and sees the first assignment when it recounts.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import orjson
from sqlalchemy import Text, and_, bindparam, cast, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.agents import service as agent_service
from services.router.agents.models import Agent
from services.router.metrics import FIRST_ASSIGNMENTS
from services.router.routing import engine
from services.router.routing.models import RoutingDecision
from services.router.tickets.models import ACTIVE_STATUSES, Ticket
from shared.events.catalogue import TicketAssigned, TicketQueued
from shared.messaging.outbox import add_events

ASSIGN_ATTEMPTS = 5
QUEUE_SCAN = 100


def needs_of(ticket: Ticket) -> engine.Needs:
    return engine.Needs(ticket.channel, dict(ticket.required_skills), ticket.likely_resolution)


def _granted(authority: Mapping[str, Mapping[str, str]]) -> frozenset[str]:
    """The resolution types an agent may execute: those with a limit above zero in some currency."""
    return frozenset(kind for kind, limits in authority.items() if any(float(v) > 0 for v in limits.values()))


def view_of(agent: Agent, load: dict[str, int]) -> engine.AgentView:
    authority = _granted(agent.authority)
    return engine.AgentView(
        agent.id,
        agent.display_name,
        agent.status,
        dict(agent.skills),
        dict(agent.capacity),
        load,
        authority,
        agent.last_assigned_at,
        agent.team,
    )


def _view_of_row(row: Any, load: dict[str, int]) -> engine.AgentView:
    skills, capacity, authority = _abilities(row.skills, row.capacity, row.authority)
    return engine.AgentView(
        row.id, row.display_name, row.status, skills, capacity, load, authority, row.last_assigned_at, row.team
    )


@functools.lru_cache(maxsize=4096)
def _abilities(
    skills: str, capacity: str, authority: str
) -> tuple[Mapping[str, int], Mapping[str, int], frozenset[str]]:
    """An agent's skills, capacity and authority from their JSON text, parsed once per distinct text.

    Every ticket opened weighs every available agent: without this, three JSON documents per agent per
    ticket. Keyed by the text itself, so an agent whose abilities change is parsed anew; the mappings are
    shared by every view of that text, hence read-only.
    """
    granted = _granted(orjson.loads(authority))
    return MappingProxyType(orjson.loads(skills)), MappingProxyType(orjson.loads(capacity)), granted


async def _views(session: AsyncSession, agents: Sequence[Agent]) -> list[engine.AgentView]:
    loads = await agent_service.loads(session=session, agent_ids=[a.id for a in agents])
    return [view_of(agent, loads.get(agent.id, {})) for agent in agents]


async def continuity_preferences(
    *, session: AsyncSession, ticket: Ticket, owner_agent_id: uuid.UUID | None, since: datetime
) -> list[tuple[str, uuid.UUID | None]]:
    """Who knows this customer: the account owner, then the agent of a recent related ticket."""
    tickets = Ticket.__table__.c
    related = select(tickets.agent_id, tickets.resolved_by).where(
        tickets.customer_id == ticket.customer_id, tickets.id != ticket.id, tickets.opened_at >= since
    )
    if ticket.intent is not None:
        related = related.where(tickets.intent == ticket.intent)
    row = (await session.execute(related.order_by(tickets.opened_at.desc()).limit(1))).first()
    recent_agent = (row.agent_id or row.resolved_by) if row is not None else None
    return [("account owner", owner_agent_id), ("agent of the customer's recent related ticket", recent_agent)]


async def route_ticket(
    *,
    session: AsyncSession,
    ticket: Ticket,
    preferred: list[tuple[str, uuid.UUID | None]],
    now: datetime,
    exclude: frozenset[uuid.UUID] = frozenset(),
) -> engine.Decision:
    """Assign the ticket to the best eligible agent, or queue it; records the decision and its events."""
    decision = await choose_agent(session=session, ticket=ticket, preferred=preferred, exclude=exclude)
    session.add(await apply_decision(session=session, ticket=ticket, decision=decision, now=now))
    return decision


async def choose_agent(
    *,
    session: AsyncSession,
    ticket: Ticket,
    preferred: list[tuple[str, uuid.UUID | None]],
    exclude: frozenset[uuid.UUID] = frozenset(),
) -> engine.Decision:
    """The best eligible agent, whose capacity is then held under their row lock (or the queue)."""
    with session.no_autoflush:
        rows = await session.execute(_AVAILABLE_AGENTS_WITH_LOADS)
        return await _decide(session, ticket, _views_of_rows(rows), preferred, exclude)


async def route_new_ticket(
    *, session: AsyncSession, ticket: Ticket, preferred: list[tuple[str, uuid.UUID | None]], now: datetime
) -> tuple[engine.Decision, RoutingDecision, int | None]:
    """A new ticket's routing put into effect: the decision, its record (for the caller to write) and the
    ticket's place in the queue (None if assigned).

    The waiting tickets ahead are counted in the same round trip as the agents are read: every ticket
    opened needs the agents, and a queued one its place; the count reads the waiting tickets only
    (`ix_tickets_waiting`), so its cost grows with the queue (docs/router.md), and is wasted only when an
    agent takes the ticket.
    """
    ahead = {"channel": ticket.channel, "rank": ticket.priority_rank, "queued_at": now}
    with session.no_autoflush:
        rows = (await session.execute(_AVAILABLE_AGENTS_AND_TICKETS_AHEAD, ahead)).all()
        agents = (row for row in rows if row.id is not None)  # no agent available: one row, the count alone
        decision = await _decide(session, ticket, _views_of_rows(agents), preferred, frozenset())
    record = await apply_decision(session=session, ticket=ticket, decision=decision, now=now)
    return decision, record, None if decision.agent_id is not None else int(rows[0].ahead) + 1


def _views_of_rows(rows: Iterable[Any]) -> list[engine.AgentView]:
    """Agents with their loads from rows of one agent and channel each (an agent without load: one row)."""
    agents: dict[uuid.UUID, tuple[Any, dict[str, int]]] = {}
    for row in rows:
        _, load = agents.setdefault(row.id, (row, {}))
        if row.load_channel is not None:
            load[row.load_channel] = row.load
    return [_view_of_row(row, load) for row, load in agents.values()]


async def _decide(
    session: AsyncSession,
    ticket: Ticket,
    available: list[engine.AgentView],
    preferred: list[tuple[str, uuid.UUID | None]],
    exclude: frozenset[uuid.UUID],
) -> engine.Decision:
    # Decide before writing: a new ticket is then inserted once, already assigned (no INSERT + UPDATE).
    wanted = {agent_id for _, agent_id in preferred if agent_id is not None} - {view.id for view in available}
    extra = (await session.scalars(select(Agent).where(Agent.id.in_(wanted)))).all() if wanted else []
    views = [v for v in [*available, *await _views(session, extra)] if v.id not in exclude]
    decision = engine.choose(needs_of(ticket), views, preferred)
    for _ in range(ASSIGN_ATTEMPTS):
        if decision.agent_id is None or await _take_capacity(session, decision.agent_id, ticket.channel):
            break
        # Someone else filled this agent first: decide again without them.
        views = [v for v in views if v.id != decision.agent_id]
        decision = engine.choose(needs_of(ticket), views, preferred)
    return decision


async def has_capacity(*, session: AsyncSession, agent_id: uuid.UUID, channel: str) -> bool:
    """Whether the agent is available with room on the channel, checked under the agent's row lock."""
    return await _take_capacity(session, agent_id, channel)


async def record_manual_assignment(
    *, session: AsyncSession, ticket: Ticket, agent_id: uuid.UUID, now: datetime
) -> None:
    """A transfer to a named colleague (capacity checked by the caller under the agent's lock)."""
    reason = "transferred to a named colleague"
    session.add(
        RoutingDecision(
            ticket_id=ticket.id, rule="manual", agent_id=agent_id, explanation=reason, candidates=[], decided_at=now
        )
    )
    await assign(session=session, ticket=ticket, agent_id=agent_id, rule="manual", reason=reason, now=now)


async def _take_capacity(session: AsyncSession, agent_id: uuid.UUID, channel: str) -> bool:
    agent = await agent_service.get_agent(session=session, agent_id=agent_id, lock=True)
    load = (await agent_service.loads(session=session, agent_ids=[agent_id]))[agent_id]
    return agent.status == "available" and agent.capacity.get(channel, 0) - load.get(channel, 0) > 0


async def apply_decision(
    *, session: AsyncSession, ticket: Ticket, decision: engine.Decision, now: datetime
) -> RoutingDecision:
    """Put a decision into effect on the ticket, with its events; returns the record of it, for the caller to add."""
    record = RoutingDecision(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        rule=decision.rule,
        agent_id=decision.agent_id,
        explanation=decision.explanation,
        candidates=[
            {
                "agent_id": str(c.agent_id),
                "name": c.name,
                "eligible": c.eligible,
                "reasons": list(c.reasons),
                "spare": c.spare,
            }
            for c in decision.candidates
        ],
        decided_at=now,
    )
    if decision.agent_id is None:
        ticket.agent_id, ticket.queued_at = None, ticket.queued_at or now
        await add_events(
            session,
            TicketQueued(
                ticket_id=ticket.id,
                customer_id=ticket.customer_id,
                priority=ticket.priority,
                required_skills=sorted(ticket.required_skills),
                queued_at=now,
            ),
        )
        return record
    await assign(
        session=session,
        ticket=ticket,
        agent_id=decision.agent_id,
        rule=decision.rule,
        reason=decision.explanation,
        now=now,
    )
    return record


async def assign(
    *, session: AsyncSession, ticket: Ticket, agent_id: uuid.UUID, rule: str, reason: str, now: datetime
) -> None:
    """Give the ticket to the agent (capacity already checked under the agent's lock)."""
    waited = (now - ticket.queued_at).total_seconds() if ticket.queued_at else 0.0
    ticket.agent_id, ticket.assigned_at, ticket.queued_at, ticket.updated_at = agent_id, now, None, now
    if ticket.first_assigned_at is None:
        waited_since_opening = (now - ticket.opened_at).total_seconds()
        session.info.setdefault(FIRST_ASSIGNMENTS, []).append((ticket.channel, waited_since_opening))
    ticket.first_assigned_at = ticket.first_assigned_at or now
    agent = await session.get(Agent, agent_id)
    if agent is not None:
        agent.last_assigned_at = now
    await add_events(
        session,
        TicketAssigned(
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            agent_id=agent_id,
            rule=rule,
            reason=reason,
            assigned_at=now,
            waited_seconds=max(waited, 0.0),
        ),
    )


async def offer_queue(*, session: AsyncSession, agent_id: uuid.UUID, now: datetime) -> list[Ticket]:
    """An agent became available or freed capacity: give them the oldest, most urgent tickets they can resolve."""
    agent = await agent_service.get_agent(session=session, agent_id=agent_id, lock=True)
    if agent.status != "available":
        return []
    [view] = await _views(session, [agent])
    taken: list[Ticket] = []
    for channel in sorted(view.capacity):
        spare = view.spare(channel)
        if spare <= 0:
            continue
        waiting = (
            await session.scalars(
                select(Ticket)
                .where(Ticket.status == "open", Ticket.agent_id.is_(None), Ticket.channel == channel)
                .order_by(Ticket.priority_rank.desc(), Ticket.queued_at, Ticket.id)
                .limit(QUEUE_SCAN)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for ticket in waiting:
            if spare <= 0:
                break
            if engine.capability_gaps(view, needs_of(ticket)):
                continue
            reason = f"{agent.display_name} became free and can resolve it; it had waited longest at its priority"
            await _record_queue_assignment(session, ticket, agent.id, reason, now)
            taken.append(ticket)
            spare -= 1
    return taken


async def _record_queue_assignment(
    session: AsyncSession, ticket: Ticket, agent_id: uuid.UUID, reason: str, now: datetime
) -> None:
    session.add(
        RoutingDecision(
            ticket_id=ticket.id, rule="queue", agent_id=agent_id, explanation=reason, candidates=[], decided_at=now
        )
    )
    await assign(session=session, ticket=ticket, agent_id=agent_id, rule="queue", reason=reason, now=now)


# On the table, not the entity: a Core query does not flush the session first (the ticket itself is never
# counted, it is not ahead of itself). Built once: building a statement costs more than running it.
_tickets = Ticket.__table__.c
_TICKETS_AHEAD = select(func.count().label("ahead")).where(
    _tickets.status == "open",
    _tickets.agent_id.is_(None),
    _tickets.channel == bindparam("channel"),
    or_(
        _tickets.priority_rank > bindparam("rank"),
        and_(_tickets.priority_rank == bindparam("rank"), _tickets.queued_at < bindparam("queued_at")),
    ),
)
# Rows of the table, not Agent objects: every ticket opened reads every available agent, and building an
# ORM object per agent cost more than the query.
_agents = Agent.__table__.c
_ROUTING_COLUMNS = ("id", "display_name", "status", "skills", "capacity", "authority", "last_assigned_at", "team")
_JSON_COLUMNS = frozenset({"skills", "capacity", "authority"})
_AVAILABLE_AGENTS_WITH_LOADS = (
    select(
        # The JSON columns as their text: parsed once per distinct text (`_abilities`), not per ticket.
        *(
            cast(_agents[name], Text).label(name) if name in _JSON_COLUMNS else _agents[name]
            for name in _ROUTING_COLUMNS
        ),
        _tickets.channel.label("load_channel"),
        func.count(_tickets.id).label("load"),
    )
    .where(_agents.status == "available")
    # Equalities, not IN (...): an IN list is an expanding parameter, rendered into the SQL at every execution.
    .outerjoin(
        Ticket.__table__,
        and_(_tickets.agent_id == _agents.id, or_(*(_tickets.status == status for status in ACTIVE_STATUSES))),
    )
    .group_by(_agents.id, _tickets.channel)
)
# A new ticket's two questions in one round trip: the count (one row) joined to the agents (maybe none).
_ahead = _TICKETS_AHEAD.cte("ahead")
_available = _AVAILABLE_AGENTS_WITH_LOADS.subquery("available")
_AVAILABLE_AGENTS_AND_TICKETS_AHEAD = select(_ahead.c.ahead, *_available.c).select_from(
    _ahead.outerjoin(_available, true())
)


async def decisions(*, session: AsyncSession, ticket_id: uuid.UUID) -> Sequence[RoutingDecision]:
    """Every routing decision about a ticket, oldest first."""
    return (
        await session.scalars(
            select(RoutingDecision).where(RoutingDecision.ticket_id == ticket_id).order_by(RoutingDecision.decided_at)
        )
    ).all()


def continuity_since(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
