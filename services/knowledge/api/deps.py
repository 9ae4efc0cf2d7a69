"""What the knowledge routes share: the search replica, strict query strings, idempotent writes, and the
answers only some routes give (documented in their `responses=`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.search.replica import SearchReplica, replica_of
from shared.errors import FieldError, invalid_fields
from shared.web.app import RuntimeDep
from shared.web.auth import Principal
from shared.web.idempotency import respond_once
from shared.web.problems import conflict

# Every 409 a knowledge route documents is a `conflict`; the routes import it from here.
__all__ = ["conflict"]

LOCATION = {"Location": {"description": "Where the new resource is read", "schema": {"type": "string"}}}


def get_replica(runtime: RuntimeDep) -> SearchReplica:
    return replica_of(runtime.database)


ReplicaDep = Annotated[SearchReplica, Depends(get_replica)]


def only_params(*allowed: str) -> Callable[[Request], None]:
    """A dependency refusing query parameters the route does not know (a typo must not widen a search)."""

    def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(allowed))
        if unknown:
            raise invalid_fields(
                [
                    FieldError(
                        field=f"query.{name}",
                        message=f"unknown parameter (known: {', '.join(allowed)})",
                        type="extra_forbidden",
                    )
                    for name in unknown
                ]
            )

    return check


async def idempotent_write(
    runtime: RuntimeDep,
    request: Request,
    *,
    method: str,
    route: str,
    key: str | None,
    payload: Any,
    write: Callable[[AsyncSession], Awaitable[tuple[int, Any]]],
    location: Callable[[Any], str | None] | None = None,
) -> JSONResponse:
    """Run a write once per Idempotency-Key and caller (same key and body: the first answer, nothing new)."""
    principal: Principal = request.state.principal
    return await respond_once(
        runtime.database,
        scope=f"{principal.key_id} {method} {route}",
        key=key,
        payload=payload,
        write=write,
        location=location,
    )
