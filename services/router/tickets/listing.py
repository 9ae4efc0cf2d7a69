"""Tickets as a list: filtered, sorted, and paged by keyset so a page never shifts under inserts.

A cursor is the sort name and the last row's sort key (shared/web/pagination.py). Rows come after it by a
strict comparison on (sort key..., id), never by OFFSET, so tickets opened while a client pages neither
repeat nor push others off a page: with `-opened_at` (the default) they land before the first page; with
`updated_at` a ticket changed while paging moves to the end and is seen again, never missed (the order for
incremental sync).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, and_, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.router.agents.models import Agent
from services.router.tickets.models import Ticket, TicketNote
from shared.db import UtcDateTime
from shared.web.pagination import decode_cursor, encode_cursor, invalid_cursor

TicketSort = Literal["-opened_at", "opened_at", "-updated_at", "updated_at", "priority"]
SORTS: tuple[TicketSort, ...] = get_args(TicketSort)
Key = tuple[InstrumentedAttribute[Any], bool]  # a column, and whether it descends

# Each sort ends with the id, so the key is unique and the cursor exact. `priority`: the queue's order,
# most urgent first, then oldest first.
_KEYS: dict[str, tuple[Key, ...]] = {
    "-opened_at": ((Ticket.opened_at, True), (Ticket.id, True)),
    "opened_at": ((Ticket.opened_at, False), (Ticket.id, False)),
    "-updated_at": ((Ticket.updated_at, True), (Ticket.id, True)),
    "updated_at": ((Ticket.updated_at, False), (Ticket.id, False)),
    "priority": ((Ticket.priority_rank, True), (Ticket.opened_at, False), (Ticket.id, False)),
}


@dataclass(frozen=True)
class TicketFilters:
    """What a list is narrowed to; every field left empty does not narrow it."""

    agent_id: uuid.UUID | None = None
    unassigned: bool = False
    team: str | None = None
    statuses: Sequence[str] = ()
    priorities: Sequence[str] = ()
    channels: Sequence[str] = ()
    customer_id: uuid.UUID | None = None
    intent: str | None = None
    problem_id: uuid.UUID | None = None
    opened: tuple[datetime | None, datetime | None] = (None, None)
    updated: tuple[datetime | None, datetime | None] = (None, None)
    sla_breached: bool | None = None


async def page(
    *, session: AsyncSession, filters: TicketFilters, sort: TicketSort, limit: int, cursor: str | None
) -> tuple[list[Ticket], str | None]:
    """One page of tickets and the cursor of the next (None on the last)."""
    keys = _KEYS[sort]
    query = select(Ticket).where(*_conditions(filters))
    if cursor is not None:
        query = query.where(_after(keys, _position(cursor, sort, keys)))
    query = query.order_by(*(column.desc() if descending else column.asc() for column, descending in keys))
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(sort, *(_written(getattr(last, column.key)) for column, _ in keys))


async def notes_page(
    *, session: AsyncSession, ticket_id: uuid.UUID, public: bool | None, limit: int, cursor: str | None
) -> tuple[list[TicketNote], str | None]:
    """A ticket's notes in the order they were written (only public or internal ones if `public` says so)."""
    keys: tuple[Key, ...] = ((TicketNote.created_at, False), (TicketNote.id, False))
    query = select(TicketNote).where(TicketNote.ticket_id == ticket_id)
    if public is not None:
        query = query.where(TicketNote.public.is_(public))
    if cursor is not None:
        query = query.where(_after(keys, _position(cursor, "notes", keys)))
    rows = list((await session.scalars(query.order_by(TicketNote.created_at, TicketNote.id).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor("notes", last.created_at.isoformat(), str(last.id))


def _conditions(filters: TicketFilters) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filters.agent_id is not None:
        found.append(Ticket.agent_id == filters.agent_id)
    if filters.unassigned:
        found.append(Ticket.agent_id.is_(None))
    if filters.team is not None:
        found.append(Ticket.agent_id.in_(select(Agent.id).where(Agent.team == filters.team)))
    listed: list[tuple[InstrumentedAttribute[Any], Sequence[str]]] = [
        (Ticket.status, filters.statuses),
        (Ticket.priority, filters.priorities),
        (Ticket.channel, filters.channels),
    ]
    found += [column.in_(sorted(set(values))) for column, values in listed if values]
    equal: list[tuple[InstrumentedAttribute[Any], Any]] = [
        (Ticket.customer_id, filters.customer_id),
        (Ticket.intent, filters.intent),
        (Ticket.problem_id, filters.problem_id),
    ]
    found += [column == value for column, value in equal if value is not None]
    ranges: list[tuple[InstrumentedAttribute[Any], tuple[datetime | None, datetime | None]]] = [
        (Ticket.opened_at, filters.opened),
        (Ticket.updated_at, filters.updated),
    ]
    for column, (start, end) in ranges:
        if start is not None:
            found.append(column >= start)
        if end is not None:
            found.append(column < end)
    if filters.sla_breached is not None:
        breached = Ticket.sla_breached_at.is_not(None)
        found.append(breached if filters.sla_breached else Ticket.sla_breached_at.is_(None))
    return found


def _after(keys: tuple[Key, ...], position: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after `position` in the order of `keys`."""
    if len({descending for _, descending in keys}) == 1:  # one direction: a row comparison, which indexes serve
        columns, descending = tuple_(*(column for column, _ in keys)), keys[0][1]
        # Each value bound as its column's type (SQLite stores times and ids as text in a form of its own).
        values = tuple_(*(literal(value, column.type) for value, (column, _) in zip(position, keys, strict=True)))
        return columns < values if descending else columns > values
    clauses = []
    for depth, (column, descending) in enumerate(keys):
        equal = [keys[i][0] == position[i] for i in range(depth)]
        beyond = column < position[depth] if descending else column > position[depth]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def _position(cursor: str, sort: str, keys: tuple[Key, ...]) -> list[Any]:
    """The sort key inside a cursor, typed as its columns; anything else is a 422 naming `query.cursor`."""
    named, *values = decode_cursor(cursor, 1 + len(keys))
    if named != sort:
        raise invalid_cursor(f"this cursor pages sort={named}, not sort={sort}")
    return [_typed(value, column) for value, (column, _) in zip(values, keys, strict=True)]


def _typed(value: Any, column: InstrumentedAttribute[Any]) -> Any:
    kind = datetime if isinstance(column.type, UtcDateTime) else column.type.python_type
    try:
        if kind is datetime and isinstance(value, str):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:  # ours always carry one: naive ones cannot be compared
                return moment
        elif kind is uuid.UUID and isinstance(value, str):
            return uuid.UUID(value)
        elif kind is int and type(value) is int and abs(value) < 2**31:  # a rank; larger would overflow the driver
            return value
    except ValueError:
        pass
    raise invalid_cursor()


def _written(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value) if isinstance(value, uuid.UUID) else value
