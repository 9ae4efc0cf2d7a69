"""/v1/feedback: feedback clusters with their owners; the owner decides, and every voice is told once.

Owners are teams that hold ops or supervisor keys, or decide in Request Tracker, whose bridge calls this
API with its own supervisor key (docs/helpdesk.md): both read and decide. Ids in paths are UUIDs by the route itself (`{feedback_id:uuid}`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.api.deps import Instant, conflict, idempotency_scope
from services.notifier.feedback import service as feedback_service
from services.notifier.feedback.models import FeedbackCluster
from services.notifier.feedback.schemas import DecisionCreate, FeedbackDetail, FeedbackList, FeedbackRead, VoiceRead
from shared.web.app import RuntimeDep, SessionDep
from shared.web.auth import Principal, Scope, require
from shared.web.idempotency import IdempotencyKey, respond_once
from shared.web.pagination import Cursor, Keyset, Limit, fetch_page, next_page_link

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])
Owner = Annotated[Principal, Depends(require(Scope.OPS, Scope.SUPERVISOR))]
FeedbackId = Annotated[uuid.UUID, Path(examples=["7d2c9a41-0b3e-4f6a-9c1d-2e4f6a8b0c12"])]
NEWEST_FIRST = Keyset("feedback", ((FeedbackCluster.created_at, True), (FeedbackCluster.id, True)))
VOICES_SHOWN = 100
DECIDED = conflict(
    "`feedback-decided`: the feedback was decided already (its customers were told)",
    slug="feedback-decided",
    detail="this feedback was decided already (accepted); its customers were told",
)


@router.get("", response_model=FeedbackList, summary="Feedback clusters, newest first, cursor-paginated")
async def list_feedback(
    request: Request,
    response: Response,
    session: SessionDep,
    _: Owner,
    status: Annotated[Literal["open", "decided"] | None, Query()] = None,
    owner: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    unowned: Annotated[bool | None, Query(description="only feedback no mapping named an owner for")] = None,
    since: Annotated[
        Instant | None, Query(description="first heard at or after", examples=["2026-12-01T00:00:00Z"])
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> FeedbackList:
    statement = select(FeedbackCluster)
    for column, value in (
        (FeedbackCluster.status, status),
        (FeedbackCluster.owner, owner),
        (FeedbackCluster.unowned, unowned),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(FeedbackCluster.created_at >= since)
    items, next_cursor = await fetch_page(session, statement, NEWEST_FIRST, limit=limit, cursor=cursor)
    next_page_link(request, response, next_cursor)
    return FeedbackList(items=[FeedbackRead.model_validate(item) for item in items], next_cursor=next_cursor)


@router.get("/{feedback_id:uuid}", response_model=FeedbackDetail, summary="One feedback cluster and its voices")
async def get_feedback_cluster(feedback_id: FeedbackId, session: SessionDep, _: Owner) -> FeedbackDetail:
    return await _detail(session, await feedback_service.get_cluster(session=session, cluster_id=feedback_id))


@router.post(
    "/{feedback_id:uuid}/decision",
    response_model=FeedbackDetail,
    summary="The owner decides (accepted with what changes and when, already done, declined with the reason); "
    "every customer who gave the feedback is told once, quoting them",
    responses=DECIDED,
)
async def decide_feedback(
    feedback_id: FeedbackId,
    body: DecisionCreate,
    runtime: RuntimeDep,
    caller: Owner,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def write(session: AsyncSession) -> tuple[int, Any]:
        cluster = await feedback_service.decide(
            session=session, cluster_id=feedback_id, request=body, actor=caller.key_id, now=datetime.now(UTC)
        )
        return 200, (await _detail(session, cluster)).model_dump(mode="json")

    return await respond_once(
        runtime.database,
        scope=idempotency_scope(caller, f"POST /v1/feedback/{feedback_id}/decision"),
        key=idempotency_key,
        payload=body.model_dump(mode="json"),
        write=write,
    )


async def _detail(session: AsyncSession, cluster: FeedbackCluster) -> FeedbackDetail:
    voices = await feedback_service.voices_of(session, cluster.id, limit=VOICES_SHOWN)
    return FeedbackDetail(
        **FeedbackRead.model_validate(cluster).model_dump(), voices=[VoiceRead.model_validate(v) for v in voices]
    )
