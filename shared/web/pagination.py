"""Cursor pagination: opaque, stable under inserts, and cheap (keyset, never OFFSET).

A cursor is the sort key of the last row of a page, base64 of a JSON list; clients hand it back unchanged.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import Query

from shared.errors import FieldError, ProblemError

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]


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
    return position


def invalid_cursor(message: str = "not a cursor from this API") -> ProblemError:
    return ProblemError(
        422,
        "invalid-cursor",
        "Invalid cursor",
        "Pass back the `next_cursor` of a previous page unchanged, with the same query and filters.",
        errors=[FieldError(field="query.cursor", message=message, type="invalid")],
    )
