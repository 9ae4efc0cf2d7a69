"""Cursor pagination: opaque, stable under inserts, and cheap (keyset, never OFFSET)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated
from uuid import UUID

import orjson
from fastapi import Query

from shared.errors import FieldError, ProblemError

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]


def encode_cursor(at: datetime, key: UUID) -> str:
    """The position after a row ordered by (time, id)."""
    return base64.urlsafe_b64encode(orjson.dumps([at.isoformat(), str(key)])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Back to (time, id); a tampered or foreign cursor is a 422 naming the parameter."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, key = orjson.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), UUID(key)
    except (ValueError, TypeError) as exc:
        raise ProblemError(
            422,
            "invalid-cursor",
            "Invalid cursor",
            "Pass back the `next_cursor` of a previous page unchanged.",
            errors=[FieldError(field="query.cursor", message="not a cursor from this API", type="invalid")],
        ) from exc
