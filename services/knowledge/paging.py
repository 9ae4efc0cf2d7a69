"""Opaque cursors for keyset pages: a position a client hands back unchanged, checked on the way in."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from shared.errors import FieldError, ProblemError


def encode_cursor(*position: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(position))).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The position inside a cursor; anything else is a 422 naming `query.cursor`."""
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(position, list) or len(position) != arity:
        raise invalid_cursor()
    return position


def invalid_cursor(message: str = "not a cursor from this API") -> ProblemError:
    return ProblemError(
        422,
        "invalid-cursor",
        "Invalid cursor",
        "Pass back the `next_cursor` of a previous page unchanged, with the same query and filters.",
        errors=[FieldError(field="query.cursor", message=message, type="invalid")],
    )
