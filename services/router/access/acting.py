"""Which agent is acting: the agent an agent-scoped key belongs to, or the one a trusted caller names."""

from __future__ import annotations

import uuid

from shared.errors import ProblemError, invalid
from shared.web.auth import Principal, Scope


def acting_agent(principal: Principal, named: uuid.UUID | None, *, field: str = "body.agent_id") -> uuid.UUID:
    """An agent's own key acts as that agent; helpdesk integrations and supervisors name the agent."""
    if principal.agent_id is not None:
        if named is not None and named != principal.agent_id and not principal.allows(Scope.SUPERVISOR):
            raise ProblemError(403, "forbidden", "An agent key acts only as its own agent", f"{field} must be omitted")
        return named or principal.agent_id
    if named is None:
        raise invalid(field, "say which agent acts (this key does not belong to an agent)", type="missing")
    return named


def may_act_for_others(principal: Principal) -> bool:
    """Supervisors (and admins) may act on tickets assigned to someone else."""
    return principal.allows(Scope.SUPERVISOR)
