"""Who may act on a ticket: the one rule every ticket action goes through, checked on the locked ticket.

The scope of a key says which operations it may call (`services/router/api/deps.py`); this says on which
tickets. A ticket belongs to its assigned agent. Supervisors and admins may act on any ticket. A waiting
(unassigned) ticket is the router's to give: an agent cannot take one by writing on it, transferring it to
themselves or resolving it; a supervisor hands it over by transferring it to a named agent. Reopening is
also the customer's call, so a contact-center key may reopen any resolved ticket. A key without an agent
of its own (a helpdesk integration) names the agent it acts for, and the rule applies to that agent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.agents.models import Agent
from services.router.tickets.models import Ticket
from shared.errors import NotFound, ProblemError, invalid
from shared.web.auth import Principal, Scope


class TicketAction(StrEnum):
    UPDATE = "update"
    NOTE = "note"
    TRANSFER = "transfer"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    DECIDE_APPROVAL = "decide-approval"
    WITHDRAW_APPROVAL = "withdraw-approval"
    CHANGE_STATUS = "change-status"


# The actions that record who did them, so they need an agent even from an overseer's key.
NEEDS_AN_AGENT = frozenset(
    {TicketAction.NOTE, TicketAction.RESOLVE, TicketAction.DECIDE_APPROVAL, TicketAction.WITHDRAW_APPROVAL}
)


@dataclass(frozen=True)
class TicketActor:
    """Who acts on a ticket: the key, and the agent it acts as (its own, or the one it names)."""

    key_id: str
    agent_id: uuid.UUID | None
    named: bool  # the agent came from the request, not from the key: it must exist
    oversees: bool  # supervisor or admin: any ticket
    speaks_for_customer: bool  # contact-center: may reopen
    field: str = "body.agent_id"

    @property
    def agent(self) -> uuid.UUID:
        """The acting agent, for actions that record one (`authorize` has made sure there is one)."""
        if self.agent_id is None:
            raise _no_agent(self.field)
        return self.agent_id


def actor_of(principal: Principal, named: uuid.UUID | None, *, field: str = "body.agent_id") -> TicketActor:
    """An agent's own key acts as that agent and no other; keys without an agent name the one they act for."""
    oversees = principal.allows(Scope.SUPERVISOR)
    if principal.agent_id is not None and named is not None and named != principal.agent_id and not oversees:
        raise ProblemError(
            403,
            "forbidden",
            "An agent key acts only as its own agent",
            f"{field} must be omitted or be this key's agent",
            rule="own-agent-only",
        )
    return TicketActor(
        key_id=principal.key_id,
        agent_id=named or principal.agent_id,
        named=named is not None and named != principal.agent_id,
        oversees=oversees,
        speaks_for_customer=Scope.CONTACT_CENTER in principal.scopes,
        field=field,
    )


def authorize(actor: TicketActor, ticket: Ticket, action: TicketAction) -> None:
    """Nothing if `actor` may take `action` on `ticket`; otherwise a 403 problem naming the rule (or a 422)."""
    if action in NEEDS_AN_AGENT and actor.agent_id is None:
        raise _no_agent(actor.field)
    if actor.oversees:
        return
    if action is TicketAction.DECIDE_APPROVAL:
        raise _forbidden("supervisor-only", "only a supervisor decides an approval")
    if action is TicketAction.REOPEN and actor.speaks_for_customer:
        return
    if actor.agent_id is None:
        raise _no_agent(actor.field)
    if ticket.agent_id is None:
        raise _forbidden(
            "ticket-not-assigned",
            "the ticket is waiting to be routed; only a supervisor may act on it (e.g. transfer it to an agent)",
        )
    if ticket.agent_id != actor.agent_id:
        raise _forbidden(
            "ticket-of-another-agent",
            f"the ticket is assigned to agent {ticket.agent_id}; only that agent or a supervisor may {action.value} it",
        )


async def ticket_to_act_on(
    *, session: AsyncSession, ticket_id: uuid.UUID, actor: TicketActor, action: TicketAction
) -> Ticket:
    """The ticket, locked until commit, if `actor` may take `action` on it (checked under the lock)."""
    ticket = await session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is None:
        raise NotFound("Ticket", ticket_id)
    if actor.named and actor.agent_id is not None:
        exists = await session.scalar(select(Agent.id).where(Agent.id == actor.agent_id))
        if exists is None:
            raise invalid(actor.field, f"no agent with id {actor.agent_id}", type="not_found")
    authorize(actor, ticket, action)
    return ticket


def _no_agent(field: str) -> ProblemError:
    return invalid(field, "say which agent acts (this key does not belong to an agent)", type="missing")


def _forbidden(rule: str, detail: str) -> ProblemError:
    return ProblemError(403, "forbidden", "Not allowed to act on this ticket", detail, rule=rule)
