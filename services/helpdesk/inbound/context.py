"""One RT action being applied to firstcall: who did it, on which tickets, and how RT is told back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.desk.port import Comment, DeskTicket, Helpdesk
from services.helpdesk.firstcall.client import RouterClient
from services.helpdesk.inbound.actions import Action
from services.helpdesk.links.models import TicketLink
from services.helpdesk.outbound import planning


@dataclass
class ActionContext:
    """One action being applied: who did it, to which tickets, and what the bridge learnt on the way."""

    session: AsyncSession
    helpdesk: Helpdesk
    router: RouterClient
    link: TicketLink
    action: Action
    now: datetime
    agent: uuid.UUID | None = None
    _desk_ticket: DeskTicket | None = None
    _firstcall_ticket: dict[str, Any] | None = field(default=None)

    @property
    def key(self) -> str:
        return f"rt-txn-{self.action.last_id}"

    async def desk_ticket(self) -> DeskTicket:
        if self._desk_ticket is None:
            assert self.link.rt_ticket_id is not None
            self._desk_ticket = await self.helpdesk.read_ticket(self.link.rt_ticket_id)
        return self._desk_ticket

    async def firstcall_ticket(self) -> dict[str, Any]:
        if self._firstcall_ticket is None:
            self._firstcall_ticket = await self.router.ticket(self.link.ticket_id)
        return self._firstcall_ticket

    async def firstcall_agent(self) -> uuid.UUID | None:
        agent = (await self.firstcall_ticket()).get("agent_id")
        return uuid.UUID(str(agent)) if agent else None

    def tell(self, content: Comment) -> None:
        """A comment in RT about this action (after the action is committed as read)."""
        planning.comment(
            session=self.session,
            ticket_id=self.link.ticket_id,
            content=content,
            cause=f"rt transaction {self.action.last_id}",
            decided_at=self.now,
            now=self.now,
        )


def restore_owner(ctx: ActionContext, agent: uuid.UUID | None) -> None:
    """firstcall's owner goes back into RT (the RT change lost: it was told why in a comment)."""
    planning.owner(
        session=ctx.session,
        link=ctx.link,
        agent_id=agent,
        cause=f"rt transaction {ctx.action.last_id} undone",
        decided_at=ctx.now,
        now=ctx.now,
    )


def restore_status(ctx: ActionContext, status: str) -> None:
    planning.status(
        session=ctx.session,
        link=ctx.link,
        value=status,
        cause=f"rt transaction {ctx.action.last_id} undone",
        decided_at=ctx.now,
        now=ctx.now,
    )


def unlinked(user: str, role: str) -> str:
    return (
        f"RT user {user} ({role}) is not linked to a firstcall agent; an admin links them with "
        "PUT /v1/agent-links/{agent id} on the helpdesk bridge"
    )
