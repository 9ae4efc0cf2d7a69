"""Who should take a ticket: the pure rules, free of I/O, so every edge case is a table row in a test.

1. Continuity: the account owner, else the agent of the customer's recent related ticket, if available,
   capable (skills and authority for the likely resolution) and not at capacity on the ticket's channel.
2. Otherwise the capable, available agent with the most spare capacity on that channel, then the one
   idle longest.
3. Otherwise nobody: the ticket waits in the queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AgentView:
    id: uuid.UUID
    name: str
    status: str
    skills: Mapping[str, int]
    capacity: Mapping[str, int]
    load: Mapping[str, int]
    authority: frozenset[str]  # resolution types this agent may execute without approval
    last_assigned_at: datetime | None = None
    team: str | None = None

    def spare(self, channel: str) -> int:
        return self.capacity.get(channel, 0) - self.load.get(channel, 0)


@dataclass(frozen=True)
class Needs:
    """What resolving the ticket at first contact takes."""

    channel: str
    skills: dict[str, int] = field(default_factory=dict)
    resolution: str | None = None  # the likely resolution type; "answer" needs no authority


@dataclass(frozen=True)
class Candidate:
    agent_id: uuid.UUID
    name: str
    eligible: bool
    reasons: tuple[str, ...]
    spare: int


@dataclass(frozen=True)
class Decision:
    rule: str  # continuity, skills or queue
    agent_id: uuid.UUID | None
    explanation: str
    candidates: tuple[Candidate, ...]


def capability_gaps(agent: AgentView, needs: Needs) -> list[str]:
    """Why this agent could not resolve the ticket, whatever their availability (empty: they could)."""
    gaps = [
        f"needs {skill} level {level}, has {agent.skills.get(skill, 0)}"
        for skill, level in sorted(needs.skills.items())
        if agent.skills.get(skill, 0) < level
    ]
    if needs.resolution not in (None, "answer") and needs.resolution not in agent.authority:
        gaps.append(f"no authority for {needs.resolution}")
    return gaps


def assess(agent: AgentView, needs: Needs) -> Candidate:
    """Whether an agent can take the ticket now, with every reason if not."""
    reasons = []
    if agent.status != "available":
        reasons.append(f"status is {agent.status}")
    spare = agent.spare(needs.channel)
    if spare <= 0:
        used, limit = agent.load.get(needs.channel, 0), agent.capacity.get(needs.channel, 0)
        reasons.append(f"at capacity on {needs.channel} ({used}/{limit})")
    reasons += capability_gaps(agent, needs)
    return Candidate(agent.id, agent.name, not reasons, tuple(reasons), spare)


def choose(
    needs: Needs, agents: Sequence[AgentView], preferred: Sequence[tuple[str, uuid.UUID | None]] = ()
) -> Decision:
    """The routing decision, with every candidate assessed; `preferred` is [(why, agent id)] in order."""
    by_id = {agent.id: agent for agent in agents}
    assessed = {agent.id: assess(agent, needs) for agent in agents}
    for why, agent_id in preferred:
        if agent_id is not None and agent_id in assessed and assessed[agent_id].eligible:
            name = by_id[agent_id].name
            return Decision("continuity", agent_id, f"{name} is the {why}", _ordered(assessed, agent_id))
    eligible = [by_id[c.agent_id] for c in assessed.values() if c.eligible]
    if eligible:
        best = min(eligible, key=lambda a: (-a.spare(needs.channel), a.last_assigned_at or NEVER, str(a.id)))
        skipped = [f"the {why} is not eligible" for why, agent_id in preferred if agent_id is not None]
        reason = f"{best.name} can resolve it and has the most spare {needs.channel} capacity"
        if skipped:
            reason += f" ({'; '.join(skipped)})"
        return Decision("skills", best.id, reason, _ordered(assessed, best.id))
    return Decision("queue", None, "no available agent can resolve it now; it waits", _ordered(assessed, None))


def _ordered(assessed: dict[uuid.UUID, Candidate], chosen: uuid.UUID | None) -> tuple[Candidate, ...]:
    """The chosen candidate first, then eligible ones by spare capacity, then the rest."""
    return tuple(sorted(assessed.values(), key=lambda c: (c.agent_id != chosen, not c.eligible, -c.spare, c.name)))
