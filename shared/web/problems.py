"""The `responses=` entries a route writes for the problems only it sends, so its OpenAPI document names them.

Undeclared, a client generated from the document cannot expect the status, and the fuzzer fails on it;
shared/web/openapi.py gives every such entry the problem+json schema.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from shared.errors import PROBLEM_BASE, PROBLEM_JSON

_TITLES = {
    404: "Not found",
    409: "Conflict with the current state",
    412: "The resource changed since it was read",
}


def declared(
    status: int, description: str, *, slug: str, detail: str, **extensions: Any
) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` entry for a status only it sends, with an example problem."""
    title = _TITLES.get(status) or HTTPStatus(status).phrase
    example = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail, **extensions}
    return {status: {"description": description, "content": {PROBLEM_JSON: {"example": example}}}}


def conflict(description: str, *, slug: str, detail: str, **extensions: Any) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` entry for the 409 it sends."""
    return declared(409, description, slug=slug, detail=detail, **extensions)
