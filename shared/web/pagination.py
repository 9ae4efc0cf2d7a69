"""Cursor pagination: opaque, stable under inserts, and cheap (keyset, never OFFSET).

A cursor is the sort key of the last row of a page, base64 of a JSON list; clients hand it back unchanged.
Every paged list answers `{"items": [...], "next_cursor": ...}` and, when there is a next page, a
`Link: <its URL>; rel="next"` header (RFC 8288) for clients that follow links. `Keyset` and `fetch_page`
page any query on a unique sort key: rows come strictly after the cursor's key, so rows inserted while a
client pages are never seen twice and never push another off a page.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import Query, Request, Response
from sqlalchemy import BigInteger, ColumnElement, DateTime, Select, and_, literal, or_, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.errors import FieldError, ProblemError

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
# A cursor holds its row's sort key: an agent's name of 200 characters, each up to 4 bytes in UTF-8, in base64.
Cursor = Annotated[str | None, Query(max_length=1_500, description="`next_cursor` of the previous page")]
# The notifier's lists took offsets before cursors; they keep them for one version (CHANGELOG.md), no deeper
# than they did.
DeprecatedOffset = Annotated[
    int,
    Query(
        ge=0,
        le=100_000,
        deprecated=True,
        description="deprecated, goes in the next version: rows to skip from the start (at most 100,000); "
        "pass `cursor` instead",
    ),
]
Column = ColumnElement[Any] | InstrumentedAttribute[Any]
Key = tuple[Column, bool]  # a column, and whether it descends

# What a paged list's 200 documents besides its body (shared/web/openapi.py adds it to every operation that
# takes a `cursor`).
LINK_HEADER = {
    "Link": {
        "description": 'The next page, when there is one: `</v1/...?...&cursor=...>; rel="next"` (RFC 8288)',
        "schema": {"type": "string"},
    }
}


def next_page_link(request: Request, response: Response, cursor: str | None) -> None:
    """Set `Link: <this URL with cursor=...>; rel="next"` when there is a next page."""
    if cursor is not None:
        # Without the deprecated offset: the cursor alone says where the next page starts.
        url = request.url.remove_query_params("offset").include_query_params(cursor=cursor)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'


@dataclass(frozen=True)
class Keyset:
    """A list's order: columns ending in a unique one; `name` goes into each cursor, so one order's cursor
    is refused by another."""

    name: str
    keys: tuple[Key, ...]

    def order_by(self) -> list[ColumnElement[Any]]:
        return [column.desc() if descending else column.asc() for column, descending in self.keys]

    def after(self, cursor: str) -> ColumnElement[bool]:
        """Rows strictly after the cursor's position in this order."""
        named, *values = decode_cursor(cursor, 1 + len(self.keys))
        if named != self.name:
            raise invalid_cursor(f"this cursor pages another order ({named}), not {self.name}")
        position = [_typed(value, column) for value, (column, _) in zip(values, self.keys, strict=True)]
        if len({descending for _, descending in self.keys}) == 1:  # one direction: a row comparison, indexes serve it
            columns = tuple_(*(column for column, _ in self.keys))
            # Each value bound as its column's type (SQLite stores times and ids as text in a form of its own).
            bound = tuple_(*(literal(v, column.type) for v, (column, _) in zip(position, self.keys, strict=True)))
            return columns < bound if self.keys[0][1] else columns > bound
        clauses = []
        for depth, (column, descending) in enumerate(self.keys):
            equal = [self.keys[i][0] == position[i] for i in range(depth)]
            clauses.append(and_(*equal, column < position[depth] if descending else column > position[depth]))
        return or_(*clauses)

    def cursor_after(self, row: Any) -> str:
        """The cursor of the rows after `row` (an ORM object or a result row holding every key column)."""
        return encode_cursor(self.name, *(_written(getattr(row, column.key or "")) for column, _ in self.keys))


async def fetch_page(
    session: AsyncSession,
    statement: Select[Any],
    order: Keyset,
    *,
    limit: int,
    cursor: str | None,
    scalars: bool = True,
    offset: int = 0,
) -> tuple[list[Any], str | None]:
    """One page of `statement` in `order` and the cursor of the next (None on the last).

    `scalars` takes each row's first element (the entity of `select(Model)`); `offset` serves the lists that
    still accept one for a deprecation cycle (their next page is a cursor all the same).
    """
    if cursor is not None:
        statement = statement.where(order.after(cursor))
    statement = statement.order_by(*order.order_by()).offset(offset or None).limit(limit + 1)
    result = await session.execute(statement)
    rows = list(result.scalars().all() if scalars else result.all())
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], order.cursor_after(rows[limit - 1])


def deprecated_offset(offset: int, cursor: str | None) -> int:
    """An `offset` (deprecated) pages only from the start: with a cursor it would skip rows silently."""
    if offset and cursor is not None:
        raise ProblemError(
            422,
            "validation-error",
            "Request is invalid",
            "Give `cursor` or the deprecated `offset`, not both.",
            errors=[FieldError(field="query.offset", message="not allowed with `cursor`", type="invalid")],
        )
    return offset


def encode_cursor(*position: Any) -> str:
    """The position after a row, from its sort key (JSON-able values)."""
    return base64.urlsafe_b64encode(orjson.dumps(list(position), default=str)).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The sort key inside a cursor; anything else is a 422 naming `query.cursor`."""
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(position, list) or len(position) != arity:
        raise invalid_cursor()
    return position


def decode_time_cursor(cursor: str) -> tuple[datetime, UUID]:
    """A (time, id) cursor, the common sort key of newest-first lists."""
    at, key = decode_cursor(cursor, 2)
    try:
        position = datetime.fromisoformat(at), UUID(key)
    except (ValueError, TypeError) as exc:
        raise invalid_cursor() from exc
    if position[0].tzinfo is None:
        # Ours always carry an offset; a naive time cannot be compared with the stored aware ones.
        raise invalid_cursor("the cursor's time has no time zone")
    try:
        return position[0].astimezone(UTC), position[1]
    except OverflowError as exc:  # 0001-01-01T00:00+05:00: no UTC column holds it, binding it would fail
        raise invalid_cursor("the cursor's time falls before the year 1 in UTC") from exc


def invalid_cursor(message: str = "not a cursor from this API") -> ProblemError:
    return ProblemError(
        422,
        "invalid-cursor",
        "Invalid cursor",
        "Pass back the `next_cursor` of a previous page unchanged, with the same query and filters.",
        errors=[FieldError(field="query.cursor", message=message, type="invalid")],
    )


def _typed(value: Any, column: Column) -> Any:
    """A cursor's value as its column's type; anything else is a 422 naming `query.cursor`."""
    stored = getattr(column.type, "impl_instance", column.type)  # a TypeDecorator (UtcDateTime) stores as its impl
    kind = datetime if isinstance(stored, DateTime) else _python_type(column)
    typed: Any = None
    try:
        if kind is datetime and isinstance(value, str):
            typed = datetime.fromisoformat(value)
            # Ours always carry a zone (naive ones don't compare) and fall within the years 1-9999 in UTC.
            typed = typed.astimezone(UTC) if typed.tzinfo is not None else None
        elif kind is UUID and isinstance(value, str):
            typed = UUID(value)
        elif kind is str and isinstance(value, str) and "\x00" not in value:  # PostgreSQL's text holds no NUL
            typed = value
        elif kind is int and type(value) is int:
            typed = value if abs(value) < (2**63 if isinstance(column.type, BigInteger) else 2**31) else None
    except (ValueError, OverflowError):
        typed = None
    if typed is None:
        raise invalid_cursor()
    return typed


def _python_type(column: Column) -> type:
    try:
        kind: type = column.type.python_type
    except NotImplementedError:
        return object
    return kind


def _written(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value) if isinstance(value, UUID) else value
