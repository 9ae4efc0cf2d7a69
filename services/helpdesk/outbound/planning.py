"""firstcall -> RT, the primitives: the writes to RT an event can stage (as effects).

Every function runs inside the consumer's inbox transaction and only writes the bridge's own tables:
no call leaves the process here, so an RT or router outage never makes an event fail or dead-letter.
Tickets the bridge never saw open (opened before it was connected) are left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.desk.port import Comment
from services.helpdesk.effects import service as effects
from services.helpdesk.links import service as links
from services.helpdesk.links.models import TicketLink
from shared.events.catalogue import Event

CREATE, OWNER, STATUS, COMMENT, CONTEXT = "create", "owner", "status", "comment", "context"


def cause_of(event: Event) -> str:
    """What decided an effect, for the journal: the event and its aggregate."""
    return f"{event.name} {event.aggregate_id}"


def owner(
    *,
    session: AsyncSession,
    link: TicketLink,
    agent_id: uuid.UUID | None,
    cause: str,
    decided_at: datetime,
    now: datetime,
) -> None:
    """The RT owner becomes the agent's RT user (None: nobody)."""
    effects.record(
        session=session,
        ticket_id=link.ticket_id,
        kind=OWNER,
        payload={"agent_id": str(agent_id) if agent_id else None},
        cause=cause,
        decided_at=decided_at,
        now=now,
    )


def status(
    *, session: AsyncSession, link: TicketLink, value: str, cause: str, decided_at: datetime, now: datetime
) -> None:
    """RT's status follows firstcall's (resolved, or open again)."""
    effects.record(
        session=session,
        ticket_id=link.ticket_id,
        kind=STATUS,
        payload={"status": value},
        cause=cause,
        decided_at=decided_at,
        now=now,
    )


def comment(
    *,
    session: AsyncSession,
    ticket_id: uuid.UUID,
    content: Comment,
    cause: str,
    decided_at: datetime,
    now: datetime,
    fields: Mapping[str, str | None] | None = None,
) -> None:
    """An internal comment on the RT ticket, with custom fields set beside it."""
    payload: dict[str, Any] = {"subject": content.subject, "text": content.text, "html": content.html}
    payload["fields"] = dict(fields or {})
    effects.record(
        session=session,
        ticket_id=ticket_id,
        kind=COMMENT,
        payload=payload,
        cause=cause,
        decided_at=decided_at,
        now=now,
    )


async def comment_on(
    *,
    session: AsyncSession,
    ticket_ids: Sequence[uuid.UUID],
    content: Comment,
    cause: str,
    decided_at: datetime,
    now: datetime,
    fields: Mapping[str, str | None] | None = None,
) -> Sequence[TicketLink]:
    """The same comment on every ticket of the list the bridge knows; their links, to update."""
    known = await links.ticket_links(session=session, ticket_ids=ticket_ids)
    for link in known:
        comment(
            session=session,
            ticket_id=link.ticket_id,
            content=content,
            cause=cause,
            decided_at=decided_at,
            now=now,
            fields=fields,
        )
    return known


async def comment_on_ticket(
    *, session: AsyncSession, ticket_id: uuid.UUID, content: Comment, cause: str, decided_at: datetime, now: datetime
) -> TicketLink | None:
    """One comment on one ticket, if the bridge knows it."""
    known = await comment_on(
        session=session, ticket_ids=[ticket_id], content=content, cause=cause, decided_at=decided_at, now=now
    )
    return known[0] if known else None
