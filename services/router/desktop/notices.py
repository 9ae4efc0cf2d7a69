"""What in the router's events concerns an agent, and whom: the notices a desktop stream sends.

A notice is one outbox row, for the agents it names in one of their parts (the assignee, the agent a
ticket was transferred from...). The data is read straight from the stored envelope: no event is parsed
into its model, so a later compatible version of an event (a new optional field) needs no change here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Row, Uuid, case, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.data_keys import service as data_keys
from services.router.ledger.models import Approval
from shared.db import one_of
from shared.events.catalogue import (
    AccountOwnerChanged,
    ApprovalDecided,
    SlaBreached,
    TicketAssigned,
    TicketTransferred,
)
from shared.events.desktop import SlaAtRisk, TicketProblemLinked
from shared.messaging.tables import outbox

_APPROVAL_DECIDED = ApprovalDecided.cloudevent_type()
_REQUESTER = "requester"  # not in ApprovalDecided's data: read from the approval itself

# CloudEvents type -> (the data field naming an agent, that agent's part), in order of precedence.
CONCERNS: dict[str, tuple[tuple[str, str], ...]] = {
    TicketAssigned.cloudevent_type(): (("agent_id", "assignee"),),
    TicketTransferred.cloudevent_type(): (("to_agent_id", "transferred_to"), ("from_agent_id", "transferred_from")),
    _APPROVAL_DECIDED: ((_REQUESTER, "requester"),),
    SlaAtRisk.cloudevent_type(): (("agent_id", "ticket_agent"),),
    # `previous_agent_id`: the agent the breach's escalation took the ticket from.
    SlaBreached.cloudevent_type(): (("agent_id", "ticket_agent"), ("previous_agent_id", "previous_agent")),
    AccountOwnerChanged.cloudevent_type(): (("owner_id", "new_owner"), ("previous_owner_id", "previous_owner")),
    TicketProblemLinked.cloudevent_type(): (("agent_id", "ticket_agent"),),
}
EVENT_TYPES = tuple(CONCERNS)
_PREFIX = "firstcall."


@dataclass(frozen=True)
class Notice:
    """One event as desktops hear it: its outbox position, its name, and the agents it concerns."""

    seq: int
    event: str  # the catalogue name, `ticket.assigned`: the SSE event type
    envelope: Mapping[str, Any]
    concerns: Mapping[str, str]  # agent id -> the agent's part in it

    def data(self, agent_id: str) -> bytes:
        """The SSE data for one of the agents it concerns (docs/desktop-push.md#messages)."""
        envelope = self.envelope
        return orjson.dumps(
            {
                "event_id": envelope["id"],
                "type": envelope["type"],
                "time": envelope["time"],
                "subject": envelope["subject"],
                "concern": self.concerns[agent_id],
                "data": envelope["data"],
            }
        )


def relevant_envelope() -> ColumnElement[Any]:
    """The envelope column where the row may concern an agent, else NULL (not worth reading)."""
    return case((outbox.c.event_type.in_(EVENT_TYPES), outbox.c.envelope), else_=null())


async def notices_of(session: AsyncSession, rows: Sequence[Row[*tuple[Any, ...]]], *, sqlite: bool) -> list[Notice]:
    """The notices in outbox rows (`seq`, `event_type`, `envelope`), in their order; others give none."""
    read = [(row.seq, orjson.loads(row.envelope)) for row in rows if row.envelope is not None]
    read = [(seq, envelope) for seq, envelope in read if envelope.get("type") in CONCERNS]
    for _, envelope in read:
        # A transfer's note, a decision's note, a handoff's briefing: sealed on the way out (decision 0031).
        envelope["data"] = await data_keys.opened(session, envelope.get("data") or {})
    decided = [envelope["data"]["approval_id"] for _, envelope in read if envelope["type"] == _APPROVAL_DECIDED]
    requesters = await _requesters(session, decided, sqlite=sqlite)
    notices = []
    for seq, envelope in read:
        extra = {_REQUESTER: requesters.get(envelope["data"].get("approval_id", ""))}
        concerns = _concerns(envelope, extra)
        if concerns:
            notices.append(Notice(seq, envelope["type"].removeprefix(_PREFIX), envelope, concerns))
    return notices


async def read_notices(
    session: AsyncSession, *, after: int, upto: int, limit: int, sqlite: bool
) -> tuple[list[Notice], int]:
    """Notices in (after, upto] from the outbox, at most `limit` rows' worth; and the position read up to."""
    rows = (
        await session.execute(
            select(outbox.c.seq, outbox.c.event_type, outbox.c.envelope)
            .where(outbox.c.seq > after, outbox.c.seq <= upto, outbox.c.event_type.in_(EVENT_TYPES))
            .order_by(outbox.c.seq)
            .limit(limit)
        )
    ).all()
    reached = rows[-1].seq if len(rows) == limit else upto
    return await notices_of(session, rows, sqlite=sqlite), reached


async def kept_range(session: AsyncSession) -> tuple[int, int] | None:
    """The lowest and highest positions still in the outbox (rows leave after their retention)."""
    lowest, highest = (await session.execute(select(func.min(outbox.c.seq), func.max(outbox.c.seq)))).one()
    return None if lowest is None else (int(lowest), int(highest))


def _concerns(envelope: Mapping[str, Any], extra: Mapping[str, str | None]) -> dict[str, str]:
    data: Mapping[str, Any] = envelope.get("data") or {}
    concerns: dict[str, str] = {}
    for field, part in CONCERNS[envelope["type"]]:
        agent = extra.get(field) or data.get(field)
        if isinstance(agent, str) and agent:
            concerns.setdefault(agent, part)
    return concerns


async def _requesters(session: AsyncSession, approval_ids: Sequence[str], *, sqlite: bool) -> dict[str, str]:
    """The agent who asked for each approval (ApprovalDecided names only the supervisor)."""
    if not approval_ids:
        return {}
    ids = [uuid.UUID(approval_id) for approval_id in approval_ids]
    rows = await session.execute(
        select(Approval.id, Approval.agent_id).where(one_of(Approval.id, ids, Uuid(), sqlite=sqlite))
    )
    return {str(approval_id): str(agent_id) for approval_id, agent_id in rows}
