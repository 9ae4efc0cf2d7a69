"""The routing rules, one row per situation: continuity, skills and authority, load balance, queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.router.routing.engine import AgentView, Needs, assess, choose

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def agent(name: str, **overrides: Any) -> AgentView:
    values: dict[str, Any] = {
        "id": uuid.uuid5(uuid.NAMESPACE_DNS, name),
        "name": name,
        "status": "available",
        "skills": {"cards": 3},
        "capacity": {"chat": 2},
        "load": {},
        "authority": frozenset({"credit", "refund"}),
        "last_assigned_at": NOW - timedelta(minutes=10),
    }
    values.update(overrides)
    return AgentView(**values)


OWNER = agent("owner")
BUSY_OWNER = agent("owner", load={"chat": 2})
ROOMY = agent("roomy", capacity={"chat": 5}, load={"chat": 1})
IDLE = agent("idle", last_assigned_at=NOW - timedelta(hours=3))
FRESH = agent("fresh", last_assigned_at=None)
NOVICE = agent("novice", skills={"cards": 1})
NO_REFUNDS = agent("no-refunds", authority=frozenset({"credit"}))
AWAY = agent("away", status="away")
NEEDS = Needs("chat", {"cards": 2}, "refund")


@pytest.mark.parametrize(
    ("agents", "preferred", "rule", "chosen"),
    [
        ([OWNER, ROOMY], [("account owner", OWNER.id)], "continuity", OWNER),
        ([BUSY_OWNER, ROOMY], [("account owner", BUSY_OWNER.id)], "skills", ROOMY),
        (
            [ROOMY, agent("recent")],
            [("owner", None), ("recent agent", agent("recent").id)],
            "continuity",
            agent("recent"),
        ),
        ([ROOMY, IDLE], [], "skills", ROOMY),
        ([IDLE, agent("busier", last_assigned_at=NOW)], [], "skills", IDLE),
        ([IDLE, FRESH], [], "skills", FRESH),
        ([NOVICE, NO_REFUNDS, AWAY], [], "queue", None),
        ([NOVICE, IDLE], [("account owner", NOVICE.id)], "skills", IDLE),
        ([], [], "queue", None),
    ],
    ids=[
        "owner-available-and-capable",
        "owner-at-capacity-goes-to-most-spare",
        "recent-agent-when-no-owner",
        "most-spare-capacity-first",
        "longest-idle-breaks-ties",
        "never-assigned-is-most-idle",
        "nobody-capable-means-queue",
        "incapable-owner-is-skipped",
        "no-agents-means-queue",
    ],
)
def test_routing_chooses_the_agent_most_likely_to_resolve_at_first_contact(
    agents: list[AgentView], preferred: list[tuple[str, uuid.UUID | None]], rule: str, chosen: AgentView | None
) -> None:
    decision = choose(NEEDS, agents, preferred)
    assert decision.rule == rule
    assert decision.agent_id == (chosen.id if chosen else None)
    assert len(decision.candidates) == len(agents)
    if chosen is not None:
        assert decision.candidates[0].agent_id == chosen.id


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        (AWAY, "status is away"),
        (BUSY_OWNER, "at capacity on chat (2/2)"),
        (NOVICE, "needs cards level 2, has 1"),
        (NO_REFUNDS, "no authority for refund"),
        (agent("phone-only", capacity={"phone": 1}), "at capacity on chat (0/0)"),
    ],
)
def test_every_reason_an_agent_was_not_chosen_is_explained(candidate: AgentView, reason: str) -> None:
    assessed = assess(candidate, NEEDS)
    assert not assessed.eligible
    assert reason in assessed.reasons


def test_an_answer_needs_no_authority() -> None:
    assert assess(agent("helper", authority=frozenset()), Needs("chat", {}, "answer")).eligible


def test_the_explanation_says_why_the_continuity_agent_was_passed_over() -> None:
    decision = choose(NEEDS, [BUSY_OWNER, ROOMY], [("account owner", BUSY_OWNER.id)])
    assert "account owner is not eligible" in decision.explanation
