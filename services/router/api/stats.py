"""/v1/stats: first-contact resolution and what stands in its way."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from services.router.api.deps import Now, Operations, Router
from services.router.inputs import Instant
from services.router.stats import service as stats_service
from shared.errors import invalid
from shared.web.app import SessionDep

router = APIRouter(tags=["stats"])


@router.get(
    "/v1/stats",
    summary="FCR rate, transfers per ticket by reason, time to assignment, queue depth; by intent, channel or team",
)
async def get_stats(
    session: SessionDep,
    components: Router,
    now: Now,
    _: Operations,
    start: Annotated[Instant | None, Query(alias="from", description="default: 7 days before `to`")] = None,
    end: Annotated[Instant | None, Query(alias="to", description="default: now")] = None,
    group_by: Annotated[Literal["intent", "channel", "team"] | None, Query()] = None,
) -> dict[str, Any]:
    end = end or now
    try:
        start = start or end - timedelta(days=7)
    except OverflowError as exc:  # `to` in the first week of year 1
        raise invalid("query.from", "give `from` explicitly: `to` minus 7 days is before year 1") from exc
    if start >= end:
        raise invalid("query.from", "must be before `to`")
    return await stats_service.first_contact_stats(
        session=session,
        start=start,
        end=end,
        reopen_window=timedelta(days=components.settings.fcr_reopen_window_days),
        group_by=group_by,
    )
