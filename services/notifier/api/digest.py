"""/v1/insights/digest: the weekly digest on demand, for any range, as Markdown or HTML (ops, supervisors)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.notifier.api.deps import Instant
from services.notifier.api.insights import insight_range
from services.notifier.insights import digest as digest_service
from services.notifier.insights import rendering
from shared.web.app import SessionDep
from shared.web.auth import Principal, Scope, require

router = APIRouter(prefix="/v1/insights", tags=["feedback"])
Supervising = Annotated[Principal, Depends(require(Scope.OPS, Scope.SUPERVISOR))]
MEDIA_TYPES = {"markdown": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


@router.get(
    "/digest",
    response_class=Response,
    summary="The digest of a range in plain words: what customers most needed, what was decided, what still "
    "waits for an owner, the two FCR figures and transfers by reason",
    responses={
        200: {
            "description": "The digest, as the weekly email and webhook carry it",
            "content": {
                "text/markdown": {"schema": {"type": "string"}, "example": "# What customers told us, ...\n"},
                "text/html": {"schema": {"type": "string"}, "example": "<!doctype html>..."},
            },
        }
    },
)
async def get_digest(
    session: SessionDep,
    _: Supervising,
    fmt: Annotated[Literal["markdown", "html"], Query(alias="format")] = "markdown",
    start: Annotated[Instant | None, Query(alias="from", examples=["2026-12-01T00:00:00Z"])] = None,
    end: Annotated[Instant | None, Query(alias="to", examples=["2026-12-08T00:00:00Z"])] = None,
) -> Response:
    start, end = insight_range(start, end)
    digest = await digest_service.digest_of(session=session, start=start, end=end)
    return Response(rendering.render(digest, fmt), media_type=MEDIA_TYPES[fmt])
